"""The import, pair and catalogue writers' graph built in memory, for `neo4j-admin database import`
into an empty database.

`BulkGraph` takes the very batches the transactional import, pair and catalogue writers take and
applies them with the semantics of their statements (graph/ingest.py, graph/intentions.py), in the
same order: products are merged by asin (the first title kept, details only filling gaps; a catalogue
record's properties replace the earlier ones, a null removing one), CO_BUY edges created once with the
first source, an also_buy to a product not loaded yet kept as a pending link until it is, features set
unless another source's are there, intentions created once per id. What is left is written as import
CSVs (`files`); each statement's counts are returned as the statement's are, so both paths print the
same summary. The time stamps the statements take from
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
    # a catalogue record's (ingest/records.py) and its image's (ingest/images.py)
    "brand": "string", "description": "string", "bulletPoints": "string[]", "price": "double",
    "imagePath": "string",
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
        self.pending: dict[str, dict] = {}  # PendingLink key (from>to) -> {from, to, source}
        self.pending_to: dict[str, list[str]] = {}  # target asin -> its pending links' keys

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
        return sum(self._co_buy(row["a"], row["b"], row["source"]) for row in rows
                   if row["a"] in self.products and row["b"] in self.products)

    def _co_buy(self, x: str, y: str, source: str) -> int:
        """MERGE of the edge from the smaller asin to the larger; 1 when it is new."""
        key = (x, y) if x < y else (y, x)
        if key in self.co_buys:
            return 0
        self.co_buys[key] = source
        return 1

    def complete_pending_links(self, asins: list[str]) -> int:
        created = 0
        for asin in asins:
            if asin not in self.products:
                continue
            for key in self.pending_to.pop(asin, []):
                link = self.pending.pop(key)
                created += self._co_buy(link["from"], asin, link["source"])
        return created

    def merge_catalog_products(self, rows: list[dict]) -> int:
        """`SET p += row.props` (a null removes the property), then the image unless a 'missing' one
        would replace an 'ok' one."""
        created = 0
        for row in rows:
            image = row.get("image")
            unknown = (set(row["props"]) | set(image or {})) - set(PRODUCT_TYPES)
            if unknown:
                raise MindError(f"bulk import: product properties {sorted(unknown)} have no importer type")
            known = self.products.get(row["asin"])
            if known is None:
                known = self.products[row["asin"]] = {}
                created += 1
            _set_all(known, row["props"])
            if image is not None and (image["imageState"] != "missing" or known.get("imageState", "missing") != "ok"):
                _set_all(known, image)
        return created

    def link_also_buys(self, rows: list[dict], source: str) -> dict:
        co_buy = pending = 0
        for row in rows:
            if row["from"] not in self.products:
                continue
            if row["to"] in self.products:
                co_buy += self._co_buy(row["from"], row["to"], source)
                continue
            key = f"{row['from']}>{row['to']}"
            if key not in self.pending:
                self.pending[key] = {"from": row["from"], "to": row["to"], "source": source}
                self.pending_to.setdefault(row["to"], []).append(key)
                pending += 1
        return {"co_buy": co_buy, "pending": pending}

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

    def write_catalog_batch(self, products: list[dict], links: list[dict], source: str) -> dict:
        """The statements of graph.ingest.write_catalog_batch, in its order, with its counts."""
        created = self.merge_catalog_products(products)
        linked = self.link_also_buys(links, source) if links else {"co_buy": 0, "pending": 0}
        co_buy = linked["co_buy"] + self.complete_pending_links([row["asin"] for row in products])
        return {"created": created, "co_buy": co_buy, "pending": linked["pending"]}

    def write_pairs_batch(self, products: list[dict], links: list[dict]) -> dict:
        """The statements of graph.ingest.write_pairs_batch, in its order, with its counts."""
        created = self.merge_minimal_products(products)
        co_buy = self.link_co_buys(links)
        co_buy += self.complete_pending_links([row["asin"] for row in products])
        return {"created": created, "co_buy": co_buy}

    def empty_lists(self) -> Iterator[dict]:
        """{asin, props} of the products' empty-list properties, which the CSVs cannot carry
        (graph.ingest.set_empty_lists sets them after the import)."""
        for asin, props in self.products.items():
            empty: dict[str, list] = {k: [] for k, v in props.items() if isinstance(v, list) and not v}
            if empty:
                yield {"asin": asin, "props": empty}

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
        if self.pending:
            files.pending_links(self.pending.items())
        return files


def _set_all(props: dict, values: dict) -> None:
    """Cypher's `SET n += map`: a null value removes the property."""
    for key, value in values.items():
        if value is None:
            props.pop(key, None)
        else:
            props[key] = value
