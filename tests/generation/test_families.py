"""Other model families in process: tiny random Idefics3, Gemma 3, Qwen2-VL and Qwen2.5-VL checkpoints,
saved and loaded back through the Auto classes, run through the three stages by
`mind generate --model <folder>` against the real Neo4j. All take a pair's two images as two images,
which their results record."""

from __future__ import annotations

from pathlib import Path

import pytest
from neo4j import Driver
from PIL import Image

from generation.families import GENERIC, IDEFICS3, LLAVA, QWEN2_VL, SEPARATE, STACKED, family_for
from generation.prompts import intention_prompt
from generation.stage import job_images
from generation.tiny_families import write_tiny_family
from mindkb.settings import Settings
from tests.support.generation import build_tiny, rows, run_mind, seed_catalog

RELS = "UsedFor,Can"
# Each tiny checkpoint and the family its config.json makes it (Qwen2.5-VL is read as Qwen2-VL is).
FAMILY_OF = {"idefics3": "idefics3", "gemma3": "gemma3", "qwen2-vl": "qwen2-vl", "qwen2.5-vl": "qwen2-vl"}


@pytest.fixture(scope="module", params=list(FAMILY_OF))
def tiny_family(request, tmp_path_factory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp(f"tiny-{request.param}")
    return FAMILY_OF[request.param], write_tiny_family(request.param, folder)["path"]


def test_a_family_runs_every_stage_and_a_rerun_does_nothing(empty_graph, settings, tiny_family, tmp_path, capsys,
                                                            monkeypatch):
    name, folder = tiny_family
    db = settings.neo4j_database
    seed_catalog(empty_graph, db, tmp_path / "images", n=4, pairs=[(0, 1), (2, 3)])
    monkeypatch.setenv("MIND_DEVICE", "cpu")
    args = ("generate", "--model", folder, "--relations", RELS, "--max-new-tokens", "4", "--batch-size", "4",
            "--compile", "on", "--json")
    code, summary = run_mind(capsys, *args)
    assert code == 0, summary
    done = {s["stage"]: s for s in summary["stages"]}
    assert [done[s]["done"] for s in ("features", "intentions", "filter")] == [4, 4, 4]
    assert all(done[s]["failed"] == 0 for s in done)
    gen = done["intentions"]["generation"]
    assert gen["family"] == name and gen["path"] == "plain" and gen["no_fast_path"].startswith(name)
    assert gen["plain"]["requests"] == 4

    products = rows(empty_graph, db, "MATCH (p:Product) RETURN p.features AS f, p.featuresModel AS m")
    assert len(products) == 4 and all(p["f"] and p["m"] == folder for p in products)
    got = rows(empty_graph, db, "MATCH (i:Intention) RETURN i.model AS m, i.status AS s, i.pairImages AS pi, "
                                "i.filterModel AS fm, i.filterPairImages AS fpi, i.noise AS noise")
    assert len(got) == 4
    assert all(r["m"] == r["fm"] == folder and r["s"] in ("ACCEPTED", "REJECTED", "UNDECIDED") for r in got)
    assert all(r["pi"] == r["fpi"] == SEPARATE and r["noise"] is True for r in got)

    code, again = run_mind(capsys, *args)
    assert code == 0 and [s["done"] for s in again["stages"]] == [0, 0, 0]


def test_families_are_found_by_config_or_name(tmp_path):
    llava = build_tiny(tmp_path / "llava")
    assert family_for(str(llava)) is LLAVA
    assert family_for("llava-hf/llava-1.5-13b-hf") is LLAVA
    assert family_for("HuggingFaceTB/SmolVLM-256M-Instruct") is IDEFICS3
    assert family_for("Qwen/Qwen2.5-VL-7B-Instruct") is QWEN2_VL and family_for("Qwen/Qwen2-VL-2B-Instruct") is QWEN2_VL
    assert family_for("some/unknown-vlm") is GENERIC and GENERIC.pair_images == STACKED


def test_a_pair_goes_stacked_or_as_two_images(tmp_path):
    a, b = Image.new("RGB", (48, 40)), Image.new("RGB", (30, 50))
    images = {"a": a, "b": b}
    stacked = job_images(("a", "b"), images.__getitem__)
    assert [im.size for im in stacked] == [(48, 40 + 20 + 50)]
    assert job_images(("a", "b"), images.__getitem__, SEPARATE) == [a, b]
    prompt = intention_prompt("cable", "a cable", "phone", "a phone", "used for")
    assert LLAVA.pair_prompt(prompt) == prompt  # the paper's text, unchanged for LLaVA
    separate = IDEFICS3.pair_prompt(prompt)
    assert "the first image is cable" in separate and "the second image is phone" in separate
    assert "upper" not in separate and "lower" not in separate


@pytest.fixture(scope="module")
def tiny_qwen(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_tiny_family("qwen2-vl", tmp_path_factory.mktemp("tiny-qwen2-vl-rows"))["path"]


def test_the_vllm_path_sends_a_pair_as_its_family_takes_it(empty_graph: Driver, settings: Settings, tiny_qwen: str,
                                                           tmp_path: Path, capsys: pytest.CaptureFixture,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """`--backend vllm`'s prompt rows (generation/ray_engine.py: ClaimRows, then the request each row
    becomes) for a family that takes two images: the prompt names the first and second image and the
    request carries both images; the stacked layout would carry one. vLLM itself needs a GPU, so the
    requests are checked, not answered."""
    import base64
    import io

    import numpy as np

    from generation.backends import Decoding
    from generation.ray_engine import ClaimRows, _vllm_request
    from generation.requests import GenerateRequest, stage_options

    db = settings.neo4j_database
    seed_catalog(empty_graph, db, tmp_path / "images", n=2, pairs=[(0, 1)])
    monkeypatch.setenv("MIND_DEVICE", "cpu")
    code, _ = run_mind(capsys, "generate", "--model", tiny_qwen, "--stage", "features", "--max-new-tokens", "4",
                       "--json")
    assert code == 0
    req = GenerateRequest(stages=["intentions"], relations=RELS.split(","), model=tiny_qwen, batch_size=4,
                          device="cpu", max_new_tokens=4)
    claims = ClaimRows("intentions", settings, stage_options(settings, req), tiny_qwen)
    assert claims.stage.family is QWEN2_VL
    got = claims({"after": np.array([""]), "upto": np.array([""]), "budget": np.array([-1])})
    assert len(got["prompt"]) == 2 and all(len(paths) == 2 for paths in got["images"])
    assert all("the first image is" in p and "upper" not in p for p in got["prompt"])

    row = {"prompt": got["prompt"][0], "images": got["images"][0]}
    sizes = [Image.open(path).size for path in row["images"]]

    def sent(request: dict) -> list[tuple[int, int]]:
        urls = [c["image_url"]["url"] for c in request["messages"][0]["content"] if c["type"] == "image_url"]
        return [Image.open(io.BytesIO(base64.b64decode(u.split(",", 1)[1]))).size for u in urls]

    decoding = Decoding(max_new_tokens=4)
    assert sent(_vllm_request(row, decoding, False, SEPARATE)) == sizes
    (stacked,) = sent(_vllm_request(row, decoding, False, STACKED))
    assert stacked == (max(w for w, _ in sizes), sum(h for _, h in sizes) + 20)
