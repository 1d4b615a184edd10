"""The GraphQL types (field names are a public contract: docs/api.md) and their own fields' resolvers.

Pagination: `coBought` and `intentions` are connections ({edges {cursor node}, nodes, pageInfo
{hasNextPage endCursor}}) ordered by asin / intention id; pass `endCursor` as `after` for the next page.
Each type is built from a retrieval record (`of`); what a field reads per item goes through the
request's DataLoaders (api/loaders.py).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import strawberry
from strawberry.types import Info

from api import inputs
from api.context import Context
from api.loaders import PageKey
from mindkb.annotation import PROPERTY, QUESTIONS
from mindkb.annotation import majority as majority_of
from mindkb.relations import RELATION_NAMES, RELATIONS, STATUSES
from retrieval.records import Hit, IntentionRecord, ProductRecord

if TYPE_CHECKING:  # members made from mindkb.relations below; a type checker sees plain enums
    class Relation(enum.Enum): ...

    class Status(enum.Enum): ...
else:
    Relation = strawberry.enum(
        enum.Enum("Relation", {r.enum_name: r.name for r in RELATIONS}),
        name="Relation", description="The 20 MIND relations (UPPER_SNAKE of their names).",
    )
    Status = strawberry.enum(enum.Enum("Status", {s: s for s in STATUSES}), name="Status")

T = TypeVar("T")
N = TypeVar("N")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


def _page(rows: Sequence[T], first: int, key: Callable[[T], str], node: Callable[[T], N]) -> tuple[list[tuple[str, N]], PageInfo]:
    """The first `first` rows as (cursor, node) and the page info (a loader reads one row more to tell)."""
    page = rows[:first]
    return ([(inputs.encode_cursor(key(r)), node(r)) for r in page],
            PageInfo(has_next_page=len(rows) > first, end_cursor=inputs.encode_cursor(key(page[-1])) if page else None))


@strawberry.type(description="One annotator's answers on one intention (mind annotate import).")
class Annotation:
    id: strawberry.ID
    annotator: str
    plausible: bool | None
    typical: bool | None
    human_centric: bool | None
    filter_correct: bool | None = strawberry.field(description="Was the filter's verdict right?")
    rationale_correct: bool | None = strawberry.field(description="Was the filter's rationale right? (optional)")
    status_shown: str | None = strawberry.field(description="The filter verdict the annotator was shown.")
    source: str | None
    created_at: str | None = strawberry.field(description="When the annotator answered (ISO 8601).")

    @classmethod
    def of(cls, row: dict[str, Any]) -> Annotation:
        return cls(
            id=row["id"], annotator=row.get("annotator") or "", plausible=row.get("plausible"),
            typical=row.get("typical"), human_centric=row.get("humanCentric"),
            filter_correct=row.get("filterCorrect"), rationale_correct=row.get("rationaleCorrect"),
            status_shown=row.get("statusShown"), source=row.get("source"), created_at=row.get("createdAt"),
        )


@strawberry.type(description="The annotators' majority per question; null on a tie or without answers.")
class MajorityVerdict:
    plausible: bool | None
    typical: bool | None
    human_centric: bool | None
    filter_correct: bool | None
    rationale_correct: bool | None
    votes: int = strawberry.field(description="How many annotators answered.")


@strawberry.type
class Product:
    asin: strawberry.ID
    title: str | None
    brand: str | None
    categories: list[str] | None
    description: str | None
    features: str | None = strawberry.field(description="Stage-1 LLaVA description of the product.")
    image_url: str | None
    main_cat: str | None

    @classmethod
    def of(cls, record: ProductRecord) -> Product:
        return cls(
            asin=strawberry.ID(record.asin), title=record.title, brand=record.brand,
            categories=list(record.categories) if record.categories is not None else None,
            description=record.description, features=record.features, image_url=record.image_url,
            main_cat=record.main_cat,
        )

    @strawberry.field(description="Products bought together with this one, by asin.")
    async def co_bought(self, info: Info[Context, None], first: int = 10,
                        after: str | None = None) -> ProductConnection:
        key = PageKey(self.asin, inputs.first(first), inputs.decode_cursor(after))
        rows = await info.context.loaders.co_bought.load(key)
        info.context.loaders.prime_products(rows)
        edges, page_info = _page(rows, first, lambda r: r.asin, Product.of)
        return ProductConnection(edges=[ProductEdge(cursor=c, node=n) for c, n in edges], page_info=page_info)

    @strawberry.field(description="Intentions that explain this product, by id.")
    async def intentions(self, info: Info[Context, None], relation: Relation | None = None,
                         status: Status | None = None, first: int = 10,
                         after: str | None = None, sources: inputs.Sources = None) -> IntentionConnection:
        key = PageKey(self.asin, inputs.first(first), inputs.decode_cursor(after),
                      relation.value if relation else None, status.value if status else None,
                      inputs.sources(sources))
        rows = await info.context.loaders.intentions.load(key)
        edges, page_info = _page(rows, first, lambda r: r.id, Intention.of)
        return IntentionConnection(edges=[IntentionEdge(cursor=c, node=n) for c, n in edges], page_info=page_info)


@strawberry.type
class Intention:
    id: strawberry.ID
    text: str | None
    relation: Relation | None
    relation_name: str | None
    status: Status | None
    rationale: str | None
    model: str | None
    prompt_version: str | None
    source: str | None
    asin_a: str | None
    asin_b: str | None
    curated_by: str | None
    curated_at: str | None
    curator_note: str | None

    @classmethod
    def of(cls, record: IntentionRecord) -> Intention:
        rel, status = record.relation, record.status
        return cls(
            id=strawberry.ID(record.id), text=record.text,
            relation=Relation(rel) if rel in RELATION_NAMES else None, relation_name=rel,
            status=Status(status) if status in STATUSES else None, rationale=record.rationale,
            model=record.model, prompt_version=record.prompt_version, source=record.source,
            asin_a=record.asin_a, asin_b=record.asin_b, curated_by=record.curated_by,
            curated_at=record.curated_at, curator_note=record.curator_note,
        )

    @strawberry.field(description="Human evaluation votes on this intention (mind annotate import), by annotator.")
    async def annotations(self, info: Info[Context, None]) -> list[Annotation]:
        return [Annotation.of(r) for r in await info.context.loaders.annotations.load(str(self.id))]

    @strawberry.field(description="The annotators' majority verdict per question; "
                                  "null when nobody annotated this intention.")
    async def majority(self, info: Info[Context, None]) -> MajorityVerdict | None:
        """The same rule as `mind annotate report`: yes when more annotators said yes than no."""
        rows = await info.context.loaders.annotations.load(str(self.id))
        if not rows:
            return None
        verdict = {q: majority_of(r.get(PROPERTY[q]) for r in rows) for q in QUESTIONS}
        return MajorityVerdict(votes=len(rows), **verdict)

    @strawberry.field(description="The products of the intention's pair.")
    async def products(self, info: Info[Context, None]) -> list[Product]:
        asins = await info.context.loaders.explained.load(str(self.id))
        records = await info.context.loaders.product.load_many(asins)
        return [Product.of(r) for r in records if r is not None]


@strawberry.type
class ProductEdge:
    cursor: str
    node: Product


@strawberry.type
class ProductConnection:
    edges: list[ProductEdge]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[Product]:
        return [e.node for e in self.edges]


@strawberry.type
class IntentionEdge:
    cursor: str
    node: Intention


@strawberry.type
class IntentionConnection:
    edges: list[IntentionEdge]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[Intention]:
        return [e.node for e in self.edges]


@strawberry.type
class IntentionHit:
    score: float = strawberry.field(description="Cosine similarity as Neo4j's vector index reports it, in [0, 1].")
    intention: Intention

    @classmethod
    def of(cls, hit: Hit) -> IntentionHit:
        return cls(score=hit.score, intention=Intention.of(hit.intention))


@strawberry.type
class Recommendation:
    product: Product
    score: float
    evidence: list[IntentionHit]


@strawberry.type
class RelationStats:
    name: str
    relation: Relation
    template: str
    total: int
    accepted: int
    rejected: int
    undecided: int
    preserve_rate: float | None = strawberry.field(
        description="accepted / filtered (accepted + rejected + undecided), as `mind stats`; "
                    "null before the filter has answered any.")
