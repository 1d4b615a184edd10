"""Shared pieces of the generation tests: the tiny model and a small catalogue with drawn images."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from neo4j import Driver
from PIL import Image, ImageDraw

from generation.stages import LEASES
from graph.driver import read, write
from graph.generation import live_lease_owners
from graph.products import merge_co_buys, merge_products

COLOURS = [(220, 40, 40), (40, 160, 60), (40, 70, 200), (230, 200, 30), (150, 60, 170), (20, 170, 170)]


def draw_image(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (48, 40)) -> Path:
    img = Image.new("RGB", size, colour)
    ImageDraw.Draw(img).ellipse((4, 4, size[0] - 4, size[1] - 4), outline=(255, 255, 255), width=2)
    img.save(path)
    return path


def seed_catalog(driver, database: str, folder: Path, n: int = 4, pairs: list[tuple[int, int]] | None = None,
                 without_image: tuple[int, ...] = (), broken_image: tuple[int, ...] = ()) -> list[str]:
    """Products P000..P00n with images drawn in `folder`, and CO_BUY edges between `pairs`."""
    folder.mkdir(parents=True, exist_ok=True)
    asins = [f"P{i:03d}" for i in range(n)]
    rows = []
    for i, asin in enumerate(asins):
        props = {"title": f"product {i} black cable", "description": "a durable small cable" if i % 2 else None}
        if i in without_image:
            props.update(imageState="missing", imageReason="no image url")
        elif i in broken_image:
            bad = folder / f"{asin}.jpg"
            bad.write_bytes(b"not an image")
            props.update(imageState="ok", imagePath=str(bad))
        else:
            path = draw_image(folder / f"{asin}.png", COLOURS[i % len(COLOURS)])
            props.update(imageState="ok", imagePath=str(path))
        rows.append({"asin": asin, "props": {k: v for k, v in props.items() if v is not None}})
    write(driver, database, merge_products, rows)
    pairs = pairs if pairs is not None else [(i, i + 1) for i in range(0, n - 1, 2)]
    edges = [{"a": min(asins[x], asins[y]), "b": max(asins[x], asins[y]), "source": "test"} for x, y in pairs]
    write(driver, database, merge_co_buys, edges)
    return asins


def rows(driver, database: str, statement: str, **params) -> list[dict]:
    """Test-side read of what the stages wrote (assertions only)."""
    records, _, _ = driver.execute_query(statement, params, database_=database)
    return [r.data() for r in records]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60, every: float = 0.05) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f}s")
        time.sleep(every)


def leases_expired(driver: Driver, database: str) -> bool:
    """No lease of any stage is in force by the server's clock (the claims' own statement decides)."""
    return read(driver, database, live_lease_owners, LEASES) == []


def build_tiny(folder: Path) -> Path:
    """The same code as `mind model tiny`."""
    from generation.tiny import write_tiny_model

    write_tiny_model(folder)
    return folder


class AnswerRows:
    """A CPU stand-in for ray.data.llm's vLLM processor (a Ray Data actor): the tiny model answers the
    prompt rows of `generation.ray_engine.ClaimRows`, which keep their columns and gain answer/error."""

    def __init__(self, model: str, decoding, text_only: bool = False, pair: str = "stacked"):
        from generation.backends import TransformersBackend

        self.backend = TransformersBackend.load(model, device="cpu", batch_size=4)
        self.decoding, self.text_only, self.pair = decoding, text_only, pair

    def __call__(self, batch: dict) -> dict:
        from generation.backends import Request
        from generation.ray_engine import _vllm_answer, row_images

        rows = [{k: batch[k][i] for k in batch} for i in range(len(batch["prompt"]))]
        requests, asked = [], []
        for i, row in enumerate(rows):
            images, row["error"] = row_images(row, self.pair, self.text_only)  # as the vLLM request is built
            if not row["error"]:
                requests.append(Request(str(row["prompt"]), images))
                asked.append(i)
        for i, text in zip(asked, self.backend.generate(requests, self.decoding), strict=True):
            rows[i]["generated_text"] = text
        out = [_vllm_answer(row) for row in rows]
        return {k: [row[k] for row in out] for k in out[0]}


def run_mind(capsys, *args: str) -> tuple[int, dict]:
    """`mind ARGS` in this process (one import of torch for a whole module): its exit code and its
    `--json` summary; the settings cache and the root logger are left as they were."""
    import json
    import logging

    from cli import main as mind_main
    from mindkb.settings import get_settings

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    get_settings.cache_clear()
    code = 0
    try:
        mind_main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        get_settings.cache_clear()
        root.setLevel(level)
        root.handlers[:] = handlers
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out else {}
