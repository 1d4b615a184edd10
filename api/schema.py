"""The GraphQL schema and its resolvers (field names are a public contract: docs/api.md).

Pagination: `coBought` and `intentions` are connections ({edges {cursor node}, nodes, pageInfo
{hasNextPage endCursor}}) ordered by asin / intention id; pass `endCursor` as `after` for the next page.
"""

from __future__ import annotations

import asyncio
import base64
import enum
from typing import Annotated, Optional

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.types import Info

from api import annotations as votes
from api import keys
from api.context import Context
from api.cost import query_cost
from api.errors import MaskUnexpected, UserError, log_errors, should_mask
from api.limits import BoundedDocument, token_limit_rule
from api.loaders import PageKey
from graph import queries
from mindkb.measures import preserve_rate
from mindkb.relations import RELATIONS, STATUSES
from mindkb.settings import Settings
from mindkb.sources import parse_sources
from retrieval.recommend import EVIDENCE_PER_PRODUCT
from retrieval.recommend import recommend as recommend_products
from retrieval.search import ACCEPTED, search

MAX_K = 100
MAX_FIRST = 100
MAX_TEXT = 1000
MAX_CANDIDATES = 100
MAX_NOTE = 1000

Relation = strawberry.enum(
    enum.Enum("Relation", {r.enum_name: r.name for r in RELATIONS}),
    name="Relation", description="The 20 MIND relations (UPPER_SNAKE of their names).",
)
Status = strawberry.enum(enum.Enum("Status", {s: s for s in STATUSES}), name="Status")
_RELATION_VALUES = {r.name for r in RELATIONS}


# --- input checks --------------------------------------------------------------------------------
def _k(k: int) -> int:
    if not 1 <= k <= MAX_K:
        raise UserError(f"k must be between 1 and {MAX_K}")
    return k


def _first(first: int) -> int:
    if not 1 <= first <= MAX_FIRST:
        raise UserError(f"first must be between 1 and {MAX_FIRST}")
    return first


def _text(text: str, name: str) -> str:
    if not text.strip():
        raise UserError(f"{name} must not be empty")
    if len(text) > MAX_TEXT:
        raise UserError(f"{name} is longer than {MAX_TEXT} characters")
    return text


def _asin(asin: str, name: str = "asin") -> str:
    if not asin.strip() or len(asin) > 64:
        raise UserError(f"{name} must be 1 to 64 characters")
    return asin


def _sources(sources: Optional[list[str]]) -> Optional[list[str]]:
    try:
        return parse_sources(sources)
    except ValueError as exc:
        raise UserError(str(exc)) from None


Sources = Annotated[Optional[list[str]], strawberry.argument(
    description="Only intentions of these sources (e.g. mind-csv); null: every source but `noise`, the output of "
                "a model with random weights, which is left out unless named.")]


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(f"k:{key}".encode()).decode()


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raw = ""
    if not raw.startswith("k:") or len(cursor) > 256:
        raise UserError("invalid cursor")
    return raw[2:]


# --- types ---------------------------------------------------------------------------------------
@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: Optional[str]


@strawberry.type
class Product:
    asin: strawberry.ID
    title: Optional[str]
    brand: Optional[str]
    categories: Optional[list[str]]
    description: Optional[str]
    features: Optional[str] = strawberry.field(description="Stage-1 LLaVA description of the product.")
    image_url: Optional[str]
    main_cat: Optional[str]

    @classmethod
    def of(cls, row: dict) -> "Product":
        desc = row.get("description")
        return cls(
            asin=row["asin"], title=row.get("title"), brand=row.get("brand"),
            categories=row.get("categories"),
            description=" ".join(desc) if isinstance(desc, list) else desc,
            features=row.get("features"), image_url=row.get("imageUrl"), main_cat=row.get("mainCat"),
        )

    @strawberry.field(description="Products bought together with this one, by asin.")
    async def co_bought(self, info: Info[Context, None], first: int = 10,
                        after: Optional[str] = None) -> "ProductConnection":
        rows = await info.context.loaders.co_bought.load(PageKey(self.asin, _first(first), decode_cursor(after)))
        info.context.loaders.prime_products(rows)
        page = rows[:first]
        return ProductConnection(
            edges=[ProductEdge(cursor=encode_cursor(r["asin"]), node=Product.of(r)) for r in page],
            page_info=PageInfo(has_next_page=len(rows) > first,
                               end_cursor=encode_cursor(page[-1]["asin"]) if page else None),
        )

    @strawberry.field(description="Intentions that explain this product, by id.")
    async def intentions(self, info: Info[Context, None], relation: Optional[Relation] = None,
                         status: Optional[Status] = None, first: int = 10,
                         after: Optional[str] = None) -> "IntentionConnection":
        key = PageKey(self.asin, _first(first), decode_cursor(after),
                      relation.value if relation else None, status.value if status else None)
        rows = await info.context.loaders.intentions.load(key)
        page = rows[:first]
        return IntentionConnection(
            edges=[IntentionEdge(cursor=encode_cursor(r["id"]), node=Intention.of(r)) for r in page],
            page_info=PageInfo(has_next_page=len(rows) > first,
                               end_cursor=encode_cursor(page[-1]["id"]) if page else None),
        )


@strawberry.type
class Intention:
    id: strawberry.ID
    text: Optional[str]
    relation: Optional[Relation]
    relation_name: Optional[str]
    status: Optional[Status]
    rationale: Optional[str]
    model: Optional[str]
    prompt_version: Optional[str]
    source: Optional[str]
    asin_a: Optional[str]
    asin_b: Optional[str]
    curated_by: Optional[str]
    curated_at: Optional[str]
    curator_note: Optional[str]
    annotations: list[votes.Annotation] = votes.annotations_field()
    majority: Optional[votes.MajorityVerdict] = votes.majority_field()

    @classmethod
    def of(cls, row: dict) -> "Intention":
        rel = row.get("relation")
        status = row.get("status")
        return cls(
            id=row["id"], text=row.get("text"),
            relation=Relation(rel) if rel in _RELATION_VALUES else None, relation_name=rel,
            status=Status(status) if status in STATUSES else None, rationale=row.get("rationale"),
            model=row.get("model"), prompt_version=row.get("promptVersion"), source=row.get("source"),
            asin_a=row.get("asinA"), asin_b=row.get("asinB"), curated_by=row.get("curatedBy"),
            curated_at=row.get("curatedAt"), curator_note=row.get("curatorNote"),
        )

    @strawberry.field(description="The products of the intention's pair.")
    async def products(self, info: Info[Context, None]) -> list[Product]:
        asins = await info.context.loaders.explained.load(self.id)
        rows = await info.context.loaders.product.load_many(asins)
        return [Product.of(r) for r in rows if r is not None]


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
    preserve_rate: Optional[float] = strawberry.field(
        description="accepted / filtered (accepted + rejected + undecided), as `mind stats`; "
                    "null before the filter has answered any.")


def _hit(row: dict) -> IntentionHit:
    return IntentionHit(score=row["score"], intention=Intention.of(row["i"]))


async def _require_product(info: Info[Context, None], asin: str, name: str) -> dict:
    row = await info.context.loaders.product.load(_asin(asin, name))
    if row is None:
        raise UserError(f"unknown product {name}={asin!r}")
    return row


# --- root types ----------------------------------------------------------------------------------
@strawberry.type
class Query:
    @strawberry.field(description="One product by asin; an unknown asin is an error.")
    async def product(self, info: Info[Context, None], asin: strawberry.ID) -> Optional[Product]:
        return Product.of(await _require_product(info, asin, "asin"))

    @strawberry.field(description="Intentions of a co-buy pair (either order); accepted ones unless asked.")
    async def pair_intentions(self, info: Info[Context, None], asin_a: strawberry.ID, asin_b: strawberry.ID,
                              relation: Optional[Relation] = None,
                              include_rejected: bool = False) -> list[Intention]:
        await asyncio.gather(_require_product(info, asin_a, "asinA"), _require_product(info, asin_b, "asinB"))
        statuses = list(STATUSES) if include_rejected else [s for s in STATUSES if s != "REJECTED"]
        rows = await info.context.graph.read(
            queries.pair_intentions, asin_a, asin_b, relation.value if relation else None, statuses)
        return [Intention.of(r) for r in rows]

    @strawberry.field(description="Vector search over intentions (ACCEPTED only unless allStatuses), best first.")
    async def search_intentions(self, info: Info[Context, None], text: str, k: int = 10,
                                relation: Optional[Relation] = None, all_statuses: bool = False,
                                sources: Sources = None) -> list[IntentionHit]:
        _text(text, "text"), _k(k)
        sources = _sources(sources)
        embedding = await info.context.embed(text)
        hits = await search(
            info.context.graph, embedding, k, relation.value if relation else None,
            None if all_statuses else ACCEPTED, info.context.settings.api_search_max_fetch,
            info.context.settings.api_search_min_fetch, sources)
        return [_hit(h) for h in hits]

    @strawberry.field(description="Products for a purchase intention; see docs/api.md for the score.")
    async def recommend(self, info: Info[Context, None], intention: str, k: int = 10,
                        context_asin: Optional[strawberry.ID] = None,
                        candidates: Optional[list[strawberry.ID]] = None,
                        sources: Sources = None) -> list[Recommendation]:
        _text(intention, "intention"), _k(k)
        sources = _sources(sources)
        if candidates is not None:
            if not candidates or len(candidates) > MAX_CANDIDATES:
                raise UserError(f"candidates must list 1 to {MAX_CANDIDATES} asins")
            for c in candidates:
                _asin(c, "candidates")
        if context_asin is not None:
            _asin(context_asin, "contextAsin")
        embedding = await info.context.embed(intention)
        ranking = await recommend_products(info.context.graph, info.context.settings, embedding, k,
                                           context_asin, list(candidates) if candidates is not None else None,
                                           sources=sources)
        if not ranking.context_known:
            raise UserError(f"unknown product contextAsin={context_asin!r}")
        found = ranking.candidates
        info.context.loaders.prime_products([c.product for c in found])
        return [Recommendation(product=Product.of(c.product), score=c.score,
                               evidence=[_hit(e) for e in c.evidence]) for c in found]

    @strawberry.field(description="Per relation: template, totals and the filter's preserve rate.")
    async def relations(self, info: Info[Context, None]) -> list[RelationStats]:
        rows = await info.context.graph.read(queries.relation_stats)
        out = []
        for r in rows:
            rate = preserve_rate(r["accepted"], r["rejected"], r["undecided"])
            out.append(RelationStats(
                name=r["name"], relation=Relation(r["name"]), template=r["template"] or "", total=r["total"],
                accepted=r["accepted"], rejected=r["rejected"], undecided=r["undecided"],
                preserve_rate=None if rate is None else round(rate, 6)))
        return out


def _authorise(info: Info[Context, None]) -> tuple[str, str]:
    """The key id and `curatedBy` of a write that carries the key (api/keys.py); KeyRefused otherwise."""
    context = info.context
    headers = context.request.headers
    kid = context.keys.authorise(headers, context.client)
    return kid, keys.curator(headers, kid)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Overrule the filter: set an intention's status (needs the API key).")
    async def set_intention_status(self, info: Info[Context, None], id: strawberry.ID, status: Status,
                                   note: Optional[str] = None) -> Intention:
        kid, curator = _authorise(info)
        if note is not None and len(note) > MAX_NOTE:
            raise UserError(f"note is longer than {MAX_NOTE} characters")
        if not id.strip() or len(id) > 128:
            raise UserError("id must be 1 to 128 characters")
        row = await info.context.graph.write(queries.set_intention_status, id, status.value, note, curator)
        if row is None:
            raise UserError(f"unknown intention id {id!r}")
        keys.audit(kid, info.context.client, curator, "setIntentionStatus", id=id, status=status.value)
        return Intention.of(row)


class RoundTrips(SchemaExtension):
    """Reports the request's database round trips in the response's `extensions`."""

    def get_results(self) -> dict:
        context = self.execution_context.context
        graph = getattr(context, "graph", None)
        return {"dbRoundTrips": graph.round_trips} if graph is not None else {}


# Items a list field may hold, for the query-cost estimate (api/cost.py). The client chooses the
# page arguments (`first`, `k`), the amplification the limit is for; the other lists are as long
# as the data makes them, and are estimated as the data is: one intention per relation for a pair
# (a second model's beside it), and a human evaluation's handful of annotators per intention
# (`annotations` itself stops at votes.MAX_PER_INTENTION).
PAIR_INTENTIONS = 2 * len(RELATIONS)
ANNOTATORS = 10
LIST_SIZES = {
    ("Query", "relations"): len(RELATIONS),
    ("Query", "pairIntentions"): PAIR_INTENTIONS,
    ("Intention", "products"): 2,
    ("Intention", "annotations"): ANNOTATORS,
    ("Recommendation", "evidence"): EVIDENCE_PER_PRODUCT,
}


def list_size(parent: str, field: str, page: int | None, connection_page: int | None) -> int:
    """How many items `parent.field` may answer: `k` for a list with it, the connection's `first` for
    `edges`/`nodes` (clamped to the bounds the resolvers enforce), else LIST_SIZES (10 if unknown)."""
    if field in ("edges", "nodes") and parent.endswith("Connection"):
        return min(MAX_FIRST, connection_page or MAX_FIRST)
    if page is not None:
        return min(MAX_K, page)
    return LIST_SIZES.get((parent, field), 10)


class MindSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        """One line per user error, a traceback only for the unexpected (api/errors.py)."""
        log_errors(errors, execution_context)


def build_schema(settings: Settings) -> strawberry.Schema:
    switches = [] if settings.api_introspection else [DisableIntrospection()]
    return MindSchema(
        query=Query,
        mutation=Mutation,
        extensions=[
            BoundedDocument(settings.api_max_tokens, settings.api_document_cache, settings.api_max_query_bytes,
                            settings.api_max_selections, settings.api_document_cache_bytes),
            QueryDepthLimiter(max_depth=settings.api_max_depth),
            MaxAliasesLimiter(max_alias_count=settings.api_max_aliases),
            MaxTokensLimiter(max_token_count=settings.api_max_tokens),
            AddValidationRules([token_limit_rule(settings.api_max_tokens)]),
            *switches,
            query_cost(settings.api_max_cost, list_size),
            MaskUnexpected(should_mask_error=should_mask),
            RoundTrips,
        ],
    )
