"""The model-output normaliser: hand-written variants, then every record of the authors' real output."""

from __future__ import annotations

import csv
import html
import re
import statistics

import pytest

from mindkb.normalize import (
    MAX_CHARS,
    NormalizedIntention,
    Verdict,
    normalize_features,
    normalize_intention,
    parse_verdict,
    strip_artefacts,
)
from mindkb.relations import BY_NAME, lookup_relation
from tests.support.paths import shared_file

# --- chat artefacts ------------------------------------------------------------------------------


@pytest.mark.parametrize("raw,expected", [
    ("ASSISTANT: they both can charge", "they both can charge"),
    ("assistant : Answer: GPT: they both can", "they both can"),
    ("</s> They Both Can keep warm", "They Both Can keep warm"),
    ("<s>they both can</s>", "they both can"),
    ("<|im_start|> <|assistant|> ### they both can", "they both can"),
    ("protect the phone. USER: next question", "protect the phone."),
    ("protect the phone. Human: and now?", "protect the phone."),
    ("protect the phone\n### : next", "protect the phone"),
    ('"The potential co-buy intention could be: a gift set"', "The potential co-buy intention could be: a gift set"),
    ("' \"quoted twice\" '", "quoted twice"),
    ('"an answer whose quote never closed', "an answer whose quote never closed"),
    ("  lots \n\n of\tspace  ", "lots of space"),
    ("", ""),
    ("</s>", ""),
])
def test_strip_artefacts(raw, expected):
    assert strip_artefacts(raw) == expected


@pytest.mark.parametrize("raw,expected", [
    # a closing quote alone is content, not a wrapper (real answers cut by max_new_tokens)
    ('... also complement the "HK Clip"', '... also complement the "HK Clip"'),
    ('connect a 3.5 mm TRS audio jack to two 1/4"', 'connect a 3.5 mm TRS audio jack to two 1/4"'),
    ("People who appreciate the brand'", "People who appreciate the brand'"),
])
def test_strip_artefacts_keeps_a_lone_closing_quote(raw, expected):
    assert strip_artefacts(raw) == expected


# --- intentions ---------------------------------------------------------------------------------

TAIL = " The upper image features a hat, while the lower image features a scarf. Both are warm"

LEAD_INS = [
    # the forms of the real file (HKUST-KnowComp MIND output), each with and without "that"
    "The potential co-buy intention for these two products could be that",
    "The potential co-buy intention for these two products could be",
    "The potential co-buy intention could be that",
    "The potential co-buy intention could be",
    "The potential co-buy intention for people purchasing these two products simultaneously could be that",
    "The potential co-buy intention for people purchasing these two products simultaneously could be",
    "The potential co-buy intention for people buying these two products simultaneously could be",
    "The potential co-buy intention for people purchasing these two Bolle sunglasses simultaneously could be that",
    "The potential co-buy intention for these two watches could be that",
    "The potential co-buy intention for these two Casio watches could be that",
    "The potential co-buy intention for these two Tommy Hilfiger watches could be that",
    "The potential co-buy intention for these two U.S. Polo Assn. watches could be that",
    "The potential co-buy intention for the two Invicta watches could be that",
    "The potential co-buy intention for the two products could be that",
    "The potential co-buy intention for the Stride Rite Meena Sandal and the Stride Rite Lesley Mary Jane "
    "could be that",
    "The potential co-buy intention for the SoundMAGIC E50 and E80 earphones could be that",
    "The potential co-buy intention for the two products, the 2-pack of black stereo cables and the black "
    "Cable Matters Premium Certified HDMI Cable, could be that",
    "The potential co-buy intention for these two products, Garmin Varia HL 500 + TL 300 and Garmin Bike "
    "Cadence Sensor, could be that",
    'The potential co-buy intention for people purchasing the Hisense SERO E2281 8.0" 16 GB Tablet and the '
    "XShields&copy; (2-Pack) Screen Protectors for Hisense Sero 8 Tablet (Ultra Clear) simultaneously could be that",
    "The potential co-buy intention for people purchasing both the Bushnell LYNX Gen 1 Night Vision Binoculars "
    "and the Bushnell Equinox Z Digital Night Vision Monocular simultaneously could be",
    "The potential co-buy intention for people purchasing the [3-Pack] Supershieldz- Anti-Glare & "
    "Anti-Fingerprint (Matte) Screen Protector for Hisense Sero 8 simultaneously could be",
    "The co-buy intention could be that",  # met later in real answers, as a second try
    # what our own prompt invites, and what other chat models write
    "the potential co-buy intention could be",
    "The potential co-buy intention could be:",
    "The potential co-buy intention would be",
    "The potential co-buy intention might be that",
    "The potential co-buy intention could possibly be that",
    "The potential co-buy intention is that",
    "The potential co-buy intention for these two products is that",
    "The potential co-buy intention for someone who is a runner could be that",
    "A possible co-buying intention is",
    "The potential cobuy intention could be",
    "The potential co buy intention could be",
    "Co-buy intention:",
    "Potential co-purchase intention:",
    "Sure! The potential co-buy intention could be that",
    "Based on the images, the potential co-buy intention could be that",
]


@pytest.mark.parametrize("lead", LEAD_INS)
def test_every_lead_in_is_removed(lead):
    out = normalize_intention(f"{lead} they are both used for keeping warm in winter.{TAIL}")
    assert out.text == "they are both used for keeping warm in winter"
    assert out.raw_text == strip_artefacts(f"{lead} they are both used for keeping warm in winter.{TAIL}")


@pytest.mark.parametrize("raw,template,expected", [
    # the generation stage's old clean_intention cases: the template is kept where written, never added
    ("ASSISTANT: The potential co-buy intention could be they are both used for charging",
     "they are both used for", "they are both used for charging"),
    ("the potential co-buy intention could be the potential co-buy intention could be they both can "
     "protect the phone", "they both can", "they both can protect the phone"),
    ("protect the phone. USER: next question", "they both can", "protect the phone"),
    ("</s> They Both Can keep warm", "they both can", "they both can keep warm"),
    ('"The potential co-buy intention could be: a gift set"', "", "a gift set"),
    ("the person wants to travel light", "the person wants to", "the person wants to travel light"),
    # repeated lead-ins, in different spellings
    ("The potential co-buy intention could be that The potential co-buy intention for these two products "
     "could be that they both can charge. More.", "they both can", "they both can charge"),
    # "to ..." and "related to ..." continuations (no "that")
    ("The potential co-buy intention for people purchasing these two products simultaneously could be to "
     "enhance their photography experience. The Nikon ...", "", "to enhance their photography experience"),
    ("The potential co-buy intention could be related to photography or videography. The camera",
     "", "related to photography or videography"),
    # abbreviations, initials, decimals and units do not end the sentence
    ("The potential co-buy intention could be that they are both U.S. Polo Assn. watches for men. The upper",
     "", "they are both U.S. Polo Assn. watches for men"),
    ("The potential co-buy intention could be that they both fit e.g. Mr. Coffee machines. Next",
     "", "they both fit e.g. Mr. Coffee machines"),
    ("The potential co-buy intention could be that they both use a 3.5 mm jack and a 2.5mm plug. The cable",
     "", "they both use a 3.5 mm jack and a 2.5mm plug"),
    ("The potential co-buy intention could be that the buyer wants a 50 ft. White RG6 cable and the HOJ Co. "
     "BASEBALL wallet. The cable", "", "the buyer wants a 50 ft. White RG6 cable and the HOJ Co. BASEBALL wallet"),
    ("The potential co-buy intention could be that they both show N. Clark and St. Patrick's Day art. Both",
     "", "they both show N. Clark and St. Patrick's Day art"),
    ("The potential co-buy intention could be that the fan owns both the toy and the Backpack Style C. "
     "The toy represents the dragon", "", "the fan owns both the toy and the Backpack Style C"),
    ("The potential co-buy intention could be that they were both made in the U.S. They both last",
     "", "they were both made in the U.S."),
    # a quotation closes before the sentence end
    ('The potential co-buy intention could be that they both come from "Star Wars: The Force Awakens." '
     "The costume", "", 'they both come from "Star Wars: The Force Awakens"'),
    # a paragraph break ends the clause even without a period; ! and ? end sentences too
    ("The potential co-buy intention could be:\n\nthey both can charge phones\n\nThe upper image",
     "they both can", "they both can charge phones"),
    ("The potential co-buy intention could be that they both can glow! The lamp", "", "they both can glow"),
    # HTML entities of the authors' titles are decoded
    ("The potential co-buy intention could be that they both are Vivi Audio&reg; parts. The cap", "",
     "they both are Vivi Audio® parts"),
    # case: a sentence capital on a common opener is lowered, names and acronyms keep theirs
    ("They both are a type of cable.", "they both are a type of", "they both are a type of cable"),
    ("The buyer wants a set.", "", "the buyer wants a set"),
    ("Casio watches are both digital.", "", "Casio watches are both digital"),
    ("LED strips are both bright.", "", "LED strips are both bright"),
    ("they both areas of interest", "they both are", "they both areas of interest"),
    # no lead-in at all: the first sentence, trailing period off
    ("they both can keep warm. The upper image shows a hat.", "they both can", "they both can keep warm"),
])
def test_normalize_intention(raw, template, expected):
    out = normalize_intention(raw, template)
    assert isinstance(out, NormalizedIntention)
    assert out.text == expected
    assert out.raw_text == strip_artefacts(raw)


@pytest.mark.parametrize("raw", [
    "The potential co-buy intention could be",
    "The potential co-buy intention for these two products could be that.",
    "ASSISTANT: The potential co-buy intention could be that </s>",
])
def test_nothing_after_the_lead_in_falls_back_to_the_whole_answer(raw):
    out = normalize_intention(raw, "they both can")
    assert out.text == out.raw_text == strip_artefacts(raw)
    assert out.text


@pytest.mark.parametrize("raw", ["", "   ", "</s>", "ASSISTANT:"])
def test_an_answer_of_artefacts_only_is_empty(raw):
    assert normalize_intention(raw) == NormalizedIntention("", "")


def test_a_long_sentence_is_cut_at_a_clause_boundary():
    clause = "they both are a type of " + " ".join(["waterproof hiking boot"] * 8)
    raw = f"The potential co-buy intention could be that {clause}, which " + "keeps feet dry " * 20 + ". Next."
    out = normalize_intention(raw)
    assert out.text == clause


def test_a_long_sentence_without_clauses_is_cut_between_words():
    words = " ".join(f"word{i}" for i in range(120))
    out = normalize_intention(f"The potential co-buy intention could be that they both {words}. End.")
    assert len(out.text) <= MAX_CHARS
    assert out.text.startswith("they both word0 word1")
    assert re.fullmatch(r"they both( word\d+)+", out.text)  # whole words only
    assert out.text.split()[-1] in words.split()


def test_one_enormous_token_is_kept_whole():
    token = "x" * 400
    assert normalize_intention(f"The potential co-buy intention could be {token} here").text == token


# --- features ---------------------------------------------------------------------------------


@pytest.mark.parametrize("raw,expected", [
    ("The image features a red hat. It is warm.\n\nThe name suggests",
     "The image features a red hat. It is warm. The name suggests"),
    ("ASSISTANT: The image features a U.S. Polo Assn. watch.</s>", "The image features a U.S. Polo Assn. watch."),
    ('The image features a cap with a white letter "', 'The image features a cap with a white letter "'),
    ("The image features Vivi Audio&reg; caps", "The image features Vivi Audio® caps"),
    ("", ""),
])
def test_normalize_features(raw, expected):
    assert normalize_features(raw) == expected


# --- the filter's verdict: plain forms, then the real ones -----------------------------------


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
    # the real file's forms
    ("Yes.", "ACCEPTED", ""),
    ("No.\n\nWhile both hats are designed for winter, they differ.", "REJECTED",
     "While both hats are designed for winter, they differ."),
    ("Yes, the potential co-buy intention is plausible.", "ACCEPTED", "The potential co-buy intention is plausible."),
    ("No The reason is that the two products differ", "REJECTED", "The reason is that the two products differ"),
])
def test_parse_verdict(raw, status, rationale):
    assert parse_verdict(raw) == Verdict(status, rationale)


# --- every record of the authors' real output --------------------------------------------------

# What a lead-in leaves behind when it is not removed.
LEFTOVER = re.compile(
    r"co-?\s?buy|co-?purchas|intention|^that\b|^(?:for|of) (?:these|the|people)\b"
    r"|simultaneously could be|could be that",
    re.I,
)


@pytest.fixture(scope="module")
def real_rows() -> list[dict]:
    with shared_file("mind-real/mind_output.dev.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1964
    return rows


@pytest.fixture(scope="module")
def real_intentions(real_rows) -> list[tuple[dict, NormalizedIntention]]:
    out = []
    for row in real_rows:
        relation = lookup_relation(row["Relation"])
        assert relation is not None, row["Relation"]
        out.append((row, normalize_intention(row["Intention"], BY_NAME[relation].template)))
    return out


def test_real_intentions_lose_every_lead_in(real_intentions):
    for row, out in real_intentions:
        assert out.text, row["Intention"][:120]
        assert not LEFTOVER.search(out.text), (out.text, row["Intention"][:200])
        assert not out.text.endswith("."), out.text


def test_real_intentions_are_short_clauses(real_intentions):
    lengths = [len(out.text) for _, out in real_intentions]
    assert statistics.median(lengths) < 200, statistics.median(lengths)
    assert max(lengths) <= MAX_CHARS
    # shorter than the paragraph they came from, always
    assert all(len(out.text) < len(out.raw_text) for _, out in real_intentions)


def test_real_intentions_are_cut_from_the_answer_never_mid_word(real_intentions):
    unpunctuated = re.compile(r"[.\"']")
    for _row, out in real_intentions:
        whole = " ".join(html.unescape(out.raw_text).split())
        start = whole.find(out.text)
        if start < 0:  # the closing quote of a quotation that ended the sentence moved before its period
            assert unpunctuated.sub("", out.text) in unpunctuated.sub("", whole), out.text
            continue
        after = whole[start + len(out.text):start + len(out.text) + 1]
        assert not after.isalnum(), (out.text, whole[start + len(out.text):][:40])


def test_real_raw_text_is_the_whole_answer(real_intentions):
    for row, out in real_intentions:
        assert out.raw_text == strip_artefacts(row["Intention"])
        assert out.raw_text == " ".join(row["Intention"].split())  # the real file has no artefacts to lose


def test_real_agreements_parse_as_their_first_word(real_rows):
    expected = {"yes": "ACCEPTED", "no": "REJECTED"}
    for row in real_rows:
        agreement = row["Agreement"]
        first = re.match(r"\W*(\w+)", agreement).group(1).lower()
        verdict = parse_verdict(agreement)
        assert verdict.status == expected[first], agreement[:80]
        rest = re.sub(r"^\W*\w+[\s,.;:!\-]*", "", agreement, count=1)
        assert verdict.rationale.lower() == " ".join(rest.split()).lower()
        assert verdict.rationale[:1] not in {",", ".", ";", ":", "!", "-"}


def test_real_features_keep_the_whole_description(real_rows):
    for row in real_rows:
        for column in ("product_a_desc", "product_b_desc"):
            desc = row[column]
            features = normalize_features(desc)
            assert features
            assert features == " ".join(html.unescape(desc).split())
