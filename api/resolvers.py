"""The root fields' resolvers, and the one place a write is authorised.

Each resolver checks its arguments (api/inputs.py, the request models of retrieval/requests.py),
reads through the request's graph and loaders, and answers the types of api/types.py; the search
and recommendation themselves are retrieval's.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import strawberry
from strawberry.types import Info

from api import inputs, keys
from api.context import Context
from api.errors import UserError
from api.types import Intention, IntentionHit, Product, Recommendation, Relation, RelationStats, Status
from graph import queries
from mindkb.measures import preserve_rate
from mindkb.relations import STATUSES
from retrieval.recommend import recommend as recommend_products
from retrieval.records import IntentionRecord, ProductRecord
from retrieval.requests import RecommendRequest, SearchRequest
from retrieval.search import search


@dataclass(frozen=True)
class Writer:
    """Who may write: the id of the key the request carries and the `curatedBy` it is recorded as."""

    key_id: str
    curator: str


def authorise(info: Info[Context, None]) -> Writer:
    """The writer of a request that carries the key (api/keys.py); KeyRefused otherwise. Every
    mutation calls this before it reads its arguments."""
    context = info.context
    headers = context.request.headers if context.request is not None else {}
    kid = context.keys.authorise(headers, context.client)
    return Writer(kid, keys.curator(headers, kid))


async def _require_product(info: Info[Context, None], asin: str, name: str) -> ProductRecord:
    record = await info.context.loaders.product.load(inputs.asin(asin, name))
    if record is None:
        raise UserError(f"unknown product {name}={asin!r}")
    return record


async def product(info: Info[Context, None], asin: strawberry.ID) -> Product | None:
    return Product.of(await _require_product(info, asin, "asin"))


async def pair_intentions(info: Info[Context, None], asin_a: strawberry.ID, asin_b: strawberry.ID,
                          relation: Relation | None = None, include_rejected: bool = False,
                          sources: inputs.Sources = None) -> list[Intention]:
    kept = inputs.sources(sources)
    await asyncio.gather(_require_product(info, asin_a, "asinA"), _require_product(info, asin_b, "asinB"))
    statuses = list(STATUSES) if include_rejected else [s for s in STATUSES if s != "REJECTED"]
    rows = await info.context.graph.read(
        queries.pair_intentions, asin_a, asin_b, relation.value if relation else None, statuses,
        list(kept) if kept is not None else None)
    return [Intention.of(IntentionRecord.of(r)) for r in rows]


async def search_intentions(info: Info[Context, None], text: str, k: int = 10,
                            relation: Relation | None = None, all_statuses: bool = False,
                            sources: inputs.Sources = None) -> list[IntentionHit]:
    request = inputs.checked(SearchRequest, text=text, k=k, relation=relation.value if relation else None,
                             all_statuses=all_statuses, sources=sources)
    settings = info.context.settings
    embedding = await info.context.embed(request.text)
    hits = await search(info.context.graph, request, embedding, max_fetch=settings.api_search_max_fetch,
                        min_fetch=await info.context.fetch.least(info.context.graph))
    return [IntentionHit.of(h) for h in hits]


async def recommend(info: Info[Context, None], intention: str, k: int = 10,
                    context_asin: strawberry.ID | None = None,
                    candidates: list[strawberry.ID] | None = None,
                    sources: inputs.Sources = None) -> list[Recommendation]:
    request = inputs.checked(RecommendRequest, intention=intention, k=k, context_asin=context_asin,
                             candidates=candidates, sources=sources)
    embedding = await info.context.embed(request.intention)
    ranking = await recommend_products(info.context.graph, request, embedding, settings=info.context.settings)
    if not ranking.context_known:
        raise UserError(f"unknown product contextAsin={context_asin!r}")
    info.context.loaders.prime_products(c.product for c in ranking.candidates)
    return [Recommendation(product=Product.of(c.product), score=c.score,
                           evidence=[IntentionHit.of(e) for e in c.evidence]) for c in ranking.candidates]


async def relations(info: Info[Context, None], sources: inputs.Sources = None) -> list[RelationStats]:
    kept = inputs.sources(sources)
    rows = await info.context.graph.read(queries.relation_stats, list(kept) if kept is not None else None)
    out = []
    for r in rows:
        rate = preserve_rate(r["accepted"], r["rejected"], r["undecided"])
        out.append(RelationStats(
            name=r["name"], relation=Relation(r["name"]), template=r["template"] or "", total=r["total"],
            accepted=r["accepted"], rejected=r["rejected"], undecided=r["undecided"],
            preserve_rate=None if rate is None else round(rate, 6)))
    return out


async def set_intention_status(info: Info[Context, None], id: strawberry.ID, status: Status,
                               note: str | None = None) -> Intention:
    writer = authorise(info)
    inputs.note(note)
    inputs.intention_id(id)
    row = await info.context.graph.write(queries.set_intention_status, id, status.value, note, writer.curator)
    if row is None:
        raise UserError(f"unknown intention id {id!r}")
    keys.audit(writer.key_id, info.context.client, writer.curator, "setIntentionStatus", id=id, status=status.value)
    return Intention.of(IntentionRecord.of(row))
