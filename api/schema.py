"""The GraphQL schema: the root types over the resolvers of api/resolvers.py, the limits around them,
and the list sizes the query-cost estimate uses (field names are a public contract: docs/api.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.types import ExecutionContext

from api import resolvers
from api.cost import query_cost
from api.errors import MaskUnexpected, log_errors, should_mask
from api.inputs import FIRST_MAX
from api.limits import BoundedDocument, token_limit_rule
from api.types import Intention, IntentionHit, Product, Recommendation, RelationStats
from mindkb.relations import RELATIONS
from mindkb.settings import Settings
from retrieval.recommend import EVIDENCE_PER_PRODUCT
from retrieval.requests import K_MAX


@strawberry.type
class Query:
    product: Product | None = strawberry.field(
        resolver=resolvers.product, description="One product by asin; an unknown asin is an error.")
    pair_intentions: list[Intention] = strawberry.field(
        resolver=resolvers.pair_intentions,
        description="Intentions of a co-buy pair (either order); accepted ones unless asked.")
    search_intentions: list[IntentionHit] = strawberry.field(
        resolver=resolvers.search_intentions,
        description="Vector search over intentions (ACCEPTED only unless allStatuses), best first.")
    recommend: list[Recommendation] = strawberry.field(
        resolver=resolvers.recommend, description="Products for a purchase intention; see docs/api.md for the score.")
    relations: list[RelationStats] = strawberry.field(
        resolver=resolvers.relations, description="Per relation: template, totals and the filter's preserve rate.")


@strawberry.type
class Mutation:
    set_intention_status: Intention = strawberry.mutation(
        resolver=resolvers.set_intention_status,
        description="Overrule the filter: set an intention's status (needs the API key).")


class RoundTrips(SchemaExtension):
    """Reports the request's database round trips in the response's `extensions`."""

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        graph = getattr(context, "graph", None)
        return {"dbRoundTrips": graph.round_trips} if graph is not None else {}


class ServerTiming(SchemaExtension):
    """A `Server-Timing` header on every answer: `encode` (the query texts' vectors, worker-thread hop
    included), `db` (the database round trips) and `graphql` (the whole operation: parsing, checks,
    resolvers, the result), in ms; what a client measures beyond `graphql` is HTTP and the ASGI stack."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context.context
        response = getattr(context, "response", None)
        if response is None:
            return
        graph = getattr(context, "graph", None)
        parts = (("encode", getattr(context, "encode_seconds", 0.0)),
                 ("db", graph.seconds if graph is not None else 0.0),
                 ("graphql", time.perf_counter() - started))
        response.headers["Server-Timing"] = ", ".join(f"{name};dur={1000 * s:.2f}" for name, s in parts)


# Items a list field may hold, for the query-cost estimate (api/cost.py). The client chooses the
# page arguments (`first`, `k`), the amplification the limit is for; the other lists are as long
# as the data makes them, and are estimated as the data is: one intention per relation for a pair
# (a second model's beside it), and a human evaluation's handful of annotators per intention
# (`annotations` itself stops at api.loaders.ANNOTATIONS_PER_INTENTION).
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
        return min(FIRST_MAX, connection_page or FIRST_MAX)
    if page is not None:
        return min(K_MAX, page)
    return LIST_SIZES.get((parent, field), 10)


class MindSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
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
            *([ServerTiming] if settings.api_server_timing else []),
        ],
    )
