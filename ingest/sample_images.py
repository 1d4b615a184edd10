"""Draws simple product images for the bundled sample catalogue (used by `make demo`).

    python -m ingest.sample_images DIR [--catalog ingest/sample/catalog.jsonl]

Each product gets DIR/ASIN.png: a coloured background (from its asin), a shape for its kind and
its title. Nothing is downloaded; the pictures are drawn here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw

SAMPLE_CATALOG = Path(__file__).parent / "sample" / "catalog.jsonl"
SIZE = 336  # LLaVA-1.5's input resolution

KINDS = (  # (words in the title, shape)
    (("shoe", "boot"), "shoe"),
    (("headlamp", "charger", "earbud"), "circle"),
    (("vest", "jacket", "socks"), "shirt"),
    (("phone", "smartphone", "case", "screen"), "phone"),
    (("camera", "card", "tripod", "backpack", "belt"), "box"),
)


def _shape(title: str) -> str:
    lowered = title.lower()
    for words, shape in KINDS:
        if any(word in lowered for word in words):
            return shape
    return "box"


def draw_product(asin: str, title: str) -> Image.Image:
    digest = hashlib.sha256(asin.encode()).digest()
    background = tuple(150 + b % 100 for b in digest[:3])
    ink = tuple(40 + b % 120 for b in digest[3:6])
    image = Image.new("RGB", (SIZE, SIZE), background)
    draw = ImageDraw.Draw(image)
    shape = _shape(title)
    if shape == "shoe":
        draw.polygon([(60, 200), (120, 120), (180, 150), (280, 190), (280, 220), (60, 220)], fill=ink)
    elif shape == "circle":
        draw.ellipse((108, 70, 228, 190), fill=ink)
        draw.rectangle((60, 120, 276, 140), fill=ink)
    elif shape == "shirt":
        draw.polygon([(110, 60), (226, 60), (276, 110), (236, 130), (236, 220), (100, 220), (100, 130),
                      (60, 110)], fill=ink)
    elif shape == "phone":
        draw.rounded_rectangle((128, 40, 208, 220), radius=14, fill=ink)
        draw.rectangle((138, 58, 198, 196), fill=background)
    else:
        draw.rectangle((90, 80, 246, 210), fill=ink)
        draw.ellipse((140, 110, 196, 166), fill=background)
    for i, line in enumerate(textwrap.wrap(title, 40)[:4]):
        draw.text((16, 240 + 18 * i), line, fill=(0, 0, 0))
    return image


def draw_catalog(catalog: Path, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with catalog.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            record = json.loads(line)
            path = out_dir / f"{record['asin']}.png"
            draw_product(record["asin"], record["title"]).save(path)
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--catalog", type=Path, default=SAMPLE_CATALOG)
    args = parser.parse_args(argv)
    written = draw_catalog(args.catalog, args.out_dir)
    print(json.dumps({"images": len(written), "dir": str(args.out_dir)}))


if __name__ == "__main__":
    main()
