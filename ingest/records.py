"""Parsing one Amazon Review Data 2018 metadata line into a product record (or a reason not to)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ingest.batches import RecordError
from mindkb.ids import valid_asin
from mindkb.text import MAX_TEXT, clean_text

PRICE_RE = re.compile(r"\$\s*([0-9][0-9,]*(?:\.[0-9]+)?)")
IMG_ALT_RE = re.compile(r'alt="([^"]*)"')
MAX_LIST = 200  # items kept per list field


@dataclass
class CatalogRecord:
    asin: str
    props: dict
    also_buy: list[str] = field(default_factory=list)
    image_urls: list[str] = field(default_factory=list)

    def matches_domain(self, domain: str) -> bool:
        """Case-insensitive: main_cat contains the domain, or one category equals it."""
        wanted = domain.strip().lower()
        main = (self.props.get("mainCat") or "").lower()
        return wanted in main or any(c.lower() == wanted for c in self.props.get("categories") or [])


def text_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    out = []
    for item in value[:MAX_LIST]:
        text = clean_text(item) if isinstance(item, (str, int, float)) else None
        if text:
            out.append(text)
    return out


def main_category(value: object) -> str | None:
    """2018's main_cat is sometimes an <img> tag; its alt text is the category."""
    text = value if isinstance(value, str) else None
    if text and text.lstrip().startswith("<"):
        match = IMG_ALT_RE.search(text)
        text = match.group(1) if match else None
    return clean_text(text)


def parse_price(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        match = PRICE_RE.search(value)
        if match:
            try:
                return float(match.group(1).replace(",", ""))
            except ValueError:
                return None
    return None


def parse_catalog_line(text: str) -> CatalogRecord:
    """One line's record (the ingest benchmark's baseline; the loader reads through ingest/table.py)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RecordError(f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RecordError(f"not a JSON object (a {type(data).__name__})")
    return parse_catalog(data)


def parse_catalog(data: dict) -> CatalogRecord:
    raw_asin = data.get("asin")
    if raw_asin is None or (isinstance(raw_asin, str) and not raw_asin.strip()):
        raise RecordError("missing or empty asin")
    asin = valid_asin(raw_asin)
    if asin is None:
        raise RecordError(f"invalid asin {str(raw_asin)[:80]!r}")
    title = clean_text(data.get("title"))
    if not title:
        raise RecordError("missing title")
    description = text_list(data.get("description"))
    image_urls = [u for u in text_list(data.get("imageURLHighRes")) + text_list(data.get("imageURL"))
                  if u.startswith(("http://", "https://"))]
    props = {
        "title": title,
        "brand": clean_text(data.get("brand")),
        "categories": text_list(data.get("category")),
        "description": "\n".join(description)[:MAX_TEXT] or None,
        "bulletPoints": text_list(data.get("feature")),
        "mainCat": main_category(data.get("main_cat")),
        "price": parse_price(data.get("price")),
        "imageUrl": image_urls[0] if image_urls else None,
    }
    also_buy = []
    seen = {asin}
    listed = data.get("also_buy")
    for other in listed if isinstance(listed, list) else []:
        other = valid_asin(other)
        if other and other not in seen:
            seen.add(other)
            also_buy.append(other)
    return CatalogRecord(asin=asin, props=props, also_buy=also_buy[:MAX_LIST], image_urls=image_urls)
