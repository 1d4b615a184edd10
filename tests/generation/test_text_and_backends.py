"""Pure parts of generation: image stacking, output cleaning, yes/no parsing, prompts, decoding."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from generation.backends import Decoding
from generation.images import BAR_PX, ImageError, load_image, stack_vertical
from generation.prompts import PROMPT_VERSION, features_prompt, filter_prompt, intention_prompt
from generation.tiny import RANDOM_WEIGHTS_KEY, random_weights
from mindkb.normalize import normalize_intention, parse_verdict


def test_stack_vertical_puts_a_above_b_with_a_black_bar():
    a = Image.new("RGB", (30, 10), (255, 0, 0))
    b = Image.new("RGB", (50, 12), (0, 0, 255))
    out = stack_vertical(a, b)
    assert out.size == (50, 10 + BAR_PX + 12)
    assert BAR_PX == 20
    assert out.getpixel((5, 5)) == (255, 0, 0)            # A on top
    assert out.getpixel((5, 10 + BAR_PX + 3)) == (0, 0, 255)  # B below
    assert out.getpixel((40, 5)) == (0, 0, 0)             # A padded on the right with black
    for y in range(10, 10 + BAR_PX):                     # the bar: every pixel black
        assert all(out.getpixel((x, y)) == (0, 0, 0) for x in range(50))
    swapped = stack_vertical(b, a)
    assert swapped.getpixel((5, 5)) == (0, 0, 255)


def test_load_image_errors(tmp_path):
    with pytest.raises(ImageError):
        load_image(tmp_path / "absent.png")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"garbage")
    with pytest.raises(ImageError):
        load_image(bad)
    good = tmp_path / "ok.png"
    Image.new("L", (8, 8), 128).save(good)
    assert load_image(good).mode == "RGB"


@pytest.mark.parametrize("raw,template,expected", [
    ("ASSISTANT: The potential co-buy intention could be they are both used for charging",
     "they are both used for", "they are both used for charging"),
    ("the potential co-buy intention could be the potential co-buy intention could be they both can "
     "protect the phone", "they both can", "they both can protect the phone"),
    # The template is kept where the model wrote it, never added; the text is the first sentence.
    ("protect the phone. USER: next question", "they both can", "protect the phone"),
    ("</s> They Both Can keep warm", "they both can", "they both can keep warm"),
    ('"The potential co-buy intention could be: a gift set"', "", "a gift set"),
    ("the person wants to travel light", "the person wants to", "the person wants to travel light"),
])
def test_normalize_intention_as_generation_stores_it(raw, template, expected):
    assert normalize_intention(raw, template).text == expected


@pytest.mark.parametrize("raw,status,rationale", [
    ("Yes, because they match.", "ACCEPTED", "Because they match."),
    ("no. The cable does not fit the phone", "REJECTED", "The cable does not fit the phone"),
    ("Answer: YES - both are for hiking", "ACCEPTED", "Both are for hiking"),
    ("I would say yes, it is a common pair", "ACCEPTED", "It is a common pair"),
    ("ASSISTANT: No; too expensive together", "REJECTED", "Too expensive together"),
    ("Yes", "ACCEPTED", ""),
    ("No, I would not say yes to this", "REJECTED", "I would not say yes to this"),
    ("Maybe, it depends on the buyer", "UNDECIDED", ""),
    ("It is not clear whether they go together at all, and honestly yes", "UNDECIDED", ""),
    ("yes and no", "UNDECIDED", ""),
    ("", "UNDECIDED", ""),
    ("Nothing to add", "UNDECIDED", ""),
])
def test_parse_verdict(raw, status, rationale):
    verdict = parse_verdict(raw)
    assert (verdict.status, verdict.rationale) == (status, rationale)


def test_prompts_follow_the_paper_and_carry_a_version():
    assert PROMPT_VERSION == "mind-v1"
    p = features_prompt("Blue Cable", "Braided nylon.")
    assert p.startswith("The image contains a product and name of it is Blue Cable.")
    assert "Braided nylon." in p
    assert "description" not in features_prompt("Blue Cable", None).lower().split("provide a detailed")[0]
    ip = intention_prompt("A", "fa", "B", "fb", "they both can")
    assert "upper image is A" in ip and "lower image is B" in ip
    assert ip.endswith("Start with the potential co-buy intention could be they both can")
    fp = filter_prompt("A", "fa", "B", "fb", "they both can", "they both can charge")
    assert "would be they both can charge" in fp and fp.endswith("Yes, ... or No, ...")


def test_decoding_provenance_is_json():
    d = json.loads(Decoding(max_new_tokens=96, seed=7).as_json())
    assert d == {"max_new_tokens": 96, "temperature": 0.2, "top_p": 1.0, "seed": 7, "min_new_tokens": 0,
                 "do_sample": True}


def test_only_a_checkpoint_marked_as_random_counts_as_noise(tmp_path):
    """`mind model tiny` marks its config (tests/generation/test_stages.py runs one); a real checkpoint's
    config, a Hugging Face id or a folder without a config is not noise."""
    marked, plain, empty = tmp_path / "tiny", tmp_path / "real", tmp_path / "empty"
    for folder, config in ((marked, {"model_type": "llava", RANDOM_WEIGHTS_KEY: True}),
                           (plain, {"model_type": "llava"})):
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps(config))
    empty.mkdir()
    assert random_weights(str(marked))
    assert not any(random_weights(m) for m in (str(plain), str(empty), "llava-hf/llava-1.5-13b-hf", "gpt-4o"))
