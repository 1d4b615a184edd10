"""Helpers for the ingest tests: catalogue lines, images, reads through graph/ingest.py."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from PIL import Image

from graph.driver import read
from graph.ingest import co_buy_pairs, graph_counts, intentions_by_source, product_properties

# FolkScope's release layout: the authors' columns plus the products' images, categories and pages,
# twice per row (suffixes _1 and _2).
RELEASE_COLUMNS = ["id_a", "id_b", "Product_a", "Product_b", "Cate", "Relation", "product_a_desc", "product_b_desc",
                   "Intention", "tail", "Agreement", "item_a_img1_url", "item_a_img2_url", "item_a_img3_url",
                   "item_b_img1_url", "item_b_img2_url", "item_b_img3_url", "item_a_cate", "item_b_cate",
                   "item_a_link", "item_b_link"]
PAIRED_HEADER = [f"{c}_1" for c in RELEASE_COLUMNS] + [f"{c}_2" for c in RELEASE_COLUMNS]


def paired_row(first: dict | None, second: dict | None) -> list[str]:
    """One row of the release layout from two records (None: an empty half)."""
    return [(first or {}).get(c, "") for c in RELEASE_COLUMNS] + [(second or {}).get(c, "") for c in RELEASE_COLUMNS]


def product(asin: str, title: str = "A product", **extra) -> dict:
    record = {"asin": asin, "title": title, "category": ["Electronics", "Accessories"],
              "main_cat": "All Electronics", "also_buy": []}
    record.update(extra)
    return record


def write_lines(path: Path, items: list, gz: bool = False) -> Path:
    """Items are dicts (written as JSON) or raw strings (written as they are)."""
    text = "".join((json.dumps(i, ensure_ascii=False) if isinstance(i, dict) else i) + "\n" for i in items)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def draw(path: Path, size=(32, 24), color=(200, 30, 30), fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, format=fmt)
    return path


def quarantined(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def counts(driver, settings) -> dict:
    return read(driver, settings.neo4j_database, graph_counts)


def props(driver, settings, *asins: str) -> dict[str, dict]:
    return read(driver, settings.neo4j_database, product_properties, list(asins))


def edges(driver, settings) -> list[tuple[str, str, str]]:
    return read(driver, settings.neo4j_database, co_buy_pairs)


def intentions(driver, settings, source: str) -> list[dict]:
    return read(driver, settings.neo4j_database, intentions_by_source, source)
