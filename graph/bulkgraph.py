"""The import and pair writers' graph built in memory, for `neo4j-admin database import` into an
empty database.

`BulkGraph` takes the very batches the transactional import and pair writers take and applies them
with the semantics of their statements (graph/ingest.py, graph/intentions.py), in the same order:
products are merged by asin (the first title kept, details only filling gaps), CO_BUY edges created
once with the first source, features set unless another source's are there, intentions created once
per id. What is left is written as import CSVs (`files`); each statement's counts are returned as the
statement's are, so both paths print the same summary. The time stamps the statements take from
`datetime()` (createdAt, featuresAt) are the time the CSVs are written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from graph.bulk import BulkFiles
from graph.ingest import IMPORTED_PROMPT_VERSION, MINIMAL_IMAGE_REASON, MINIMAL_IMAGE_STATE
from mindkb.errors import MindError
from mindkb.relations import RELATION_NAMES

# Every property the import statements write, with its importer type.
PRODUCT_TYPES = {
    "title": "string", "imageState": "string", "imageReason": "string", "imageUrl": "string",
    "imageUrls": "string[]", "mainCat": "string", "categories": "string[]", "link": "string",
    "features": "string", "featuresRaw": "string", "featuresSource": "string", "featuresModel": "string",
    "featuresPromptVersion": "string", "featuresAt": "datetime",
}
INTENTION_TYPES = {"text": "string", "status": "string", "rationale": "string", "model": "string",
                   "promptVersion": "string", "source": "string", "rawText": "string"}
DETAIL_KEYS = ("imageUrl", "imageUrls", "mainCat", "categories", "link")
FEATURES_AT = object()  # stands for the import's time stamp until the CSVs are written


class BulkGraph:
    """Products, co-buys and intentions as the import statements would leave an empty database."""

    def __init__(self) -> None:
        self.products: dict[str, dict] = {}
        self.co_buys: dict[tuple[str, str], str] = {}
        self.intentions: dict[str, dict] = {}

    # One method per statement of the transactional writer, same rows, same counts.

    def existing_intention_ids(self, ids: list[str]) -> list[str]:
        return [i for i in ids if i in self.intentions]

    def merge_minimal_products(self, rows: list[dict]) -> int:
        created = 0
        for row in rows:
            known = self.products.get(row["asin"])
            if known is None:
                self.products[row["asin"]] = {"title": row.get("title"), "imageState": MINIMAL_IMAGE_STATE,
                                              "imageReason": MINIMAL_IMAGE_REASON}
                created += 1
            elif known.get("title") is None:
                known["title"] = row.get("title")
        return created

    def set_imported_product_details(self, rows: list[dict]) -> int:
        n = 0
        for row in rows:
            known = self.products.get(row["asin"])
            if known is None:
                continue
            for key in DETAIL_KEYS:
                if known.get(key) is None:
                    known[key] = row.get(key)
            n += 1
        return n

    def link_co_buys(self, rows: list[dict]) -> int:
        created = 0
        for row in rows:
            key = (row["a"], row["b"])
            if row["a"] in self.products and row["b"] in self.products and key not in self.co_buys:
                self.co_buys[key] = row["source"]
                created += 1
        return created

    def complete_pending_links(self, asins: list[str]) -> int:
        """Pending links come only from catalogue files, which this graph does not take."""
        return 0

    def set_imported_features(self, rows: list[dict], source: str) -> int:
        n = 0
        for row in rows:
            known = self.products.get(row["asin"])
            if known is None or not (known.get("features") is None or known.get("featuresSource") == source):
                continue
            known.update(features=row["features"], featuresRaw=row["raw"], featuresSource=source,
                         featuresModel=source, featuresPromptVersion=IMPORTED_PROMPT_VERSION,
                         featuresAt=known.get("featuresAt") or FEATURES_AT)
            n += 1
        return n

    def merge_intentions(self, rows: list[dict]) -> int:
        written = set()
        for row in rows:
            if row["asinA"] not in self.products or row["asinB"] not in self.products \
                    or row["relation"] not in RELATION_NAMES:
                continue
            written.add(row["id"])
            if row["id"] not in self.intentions:
                unknown = set(row["props"]) - set(INTENTION_TYPES)
                if unknown:
                    raise MindError(f"bulk import: intention properties {sorted(unknown)} have no importer type")
                self.intentions[row["id"]] = row
        return len(written)

    def write_import_batch(self, products: list[dict], links: list[dict], rows: list[dict],
                           features: list[dict] | None = None, feature_source: str = "",
                           details: list[dict] | None = None) -> dict:
        """The statements of ingest.intentions.write_import_batch, in its order, with its counts."""
        existing = set(self.existing_intention_ids([r["id"] for r in rows]))
        self.merge_minimal_products(products)
        if details:
            self.set_imported_product_details(details)
        self.link_co_buys(links)
        self.complete_pending_links([p["asin"] for p in products])
        featured = self.set_imported_features(features, feature_source) if features else 0
        written = self.merge_intentions(rows)
        return {"written": written, "created": sum(1 for r in rows if r["id"] not in existing), "features": featured}

    def write_pairs_batch(self, products: list[dict], links: list[dict]) -> dict:
        """The statements of graph.ingest.write_pairs_batch, in its order, with its counts."""
        created = self.merge_minimal_products(products)
        co_buy = self.link_co_buys(links)
        co_buy += self.complete_pending_links([row["asin"] for row in products])
        return {"created": created, "co_buy": co_buy}

    def files(self, folder: Path) -> BulkFiles:
        """The graph as import CSVs in `folder` (Relation nodes included)."""
        files = BulkFiles(folder)
        files.relations()
        stamp = files.created_at

        def product_rows() -> Iterator[dict]:
            for asin, props in self.products.items():
                yield {"asin": asin, "props": {k: stamp if v is FEATURES_AT else v for k, v in props.items()}}

        files.products(product_rows(), PRODUCT_TYPES)
        files.co_buy_rows((a, b, source) for (a, b), source in self.co_buys.items())
        files.intentions(iter(self.intentions.values()), INTENTION_TYPES)
        return files
