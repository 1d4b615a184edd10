"""The FastAPI application: GraphQL (GraphiQL in a browser, from local files) at /graphql and GET /healthz.

In front of GraphQL, outermost first: security headers on every answer (api/headers.py), CORS
when configured, and the guard that refuses oversized bodies and documents (api/guard.py).

The embedding model and the async Neo4j driver are created once, in the lifespan; every request
gets its own loaders and round-trip counter around the shared driver.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response

from api.context import Context
from api.errors import quiet_driver_retries
from api.fetch import SearchFetch
from api.graphiql import LocalGraphiQLRouter, mount_graphiql_assets
from api.guard import GraphQLBodyGuard
from api.headers import SecurityHeaders
from api.health import TIMEOUT_S as HEALTH_TIMEOUT_S
from api.health import HealthCheck
from api.keys import KeyCheck, audit_log
from api.loaders import Loaders
from api.schema import build_schema
from embedding.encoder import TextEncoder
from graph.aio import AsyncGraph, make_async_driver
from mindkb.logs import setup_logging
from mindkb.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app for `settings` (checked again: a copy with updates skips validation, and an empty key
    must never open writes); BadInput, one line, when they are invalid."""
    settings = (settings or get_settings()).validated()
    keys = KeyCheck(settings.api_key, settings.api_key_failures_per_minute)
    fetch = SearchFetch(settings)
    if not logging.getLogger().handlers:  # a worker process of `mind serve --workers N`
        setup_logging(settings.log_level)
    if audit_log.level == logging.NOTSET:
        audit_log.setLevel(logging.INFO)  # audit lines are written whatever MIND_LOG_LEVEL hides
    quiet_driver_retries()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.encoder = await asyncio.to_thread(
            TextEncoder.load, settings.embedding_model, settings.device, 1, settings.api_embedding_cache,
            settings.embedding_backend, settings.api_torch_threads, settings.cache_dir)
        if settings.api_torch_threads and "torch" in sys.modules:  # the ONNX encoders never load torch
            sys.modules["torch"].set_num_threads(settings.api_torch_threads)
        app.state.driver = make_async_driver(settings)
        try:
            yield
        finally:
            await app.state.driver.close()

    async def get_context(request: Request) -> Context:
        graph = AsyncGraph(request.app.state.driver, settings.neo4j_database, settings.api_db_timeout)
        return Context(graph=graph, loaders=Loaders(graph), encoder=request.app.state.encoder,
                       settings=settings, keys=keys, fetch=fetch)

    app = FastAPI(title="MIND-KB", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.keys = keys
    app.state.schema = build_schema(settings)
    router: LocalGraphiQLRouter[Context, None] = LocalGraphiQLRouter(app.state.schema, context_getter=get_context,
                                 graphql_ide="graphiql" if settings.api_graphiql else None)
    app.include_router(router, prefix="/graphql")
    if settings.api_graphiql:
        mount_graphiql_assets(app, "/graphql")
    app.add_middleware(GraphQLBodyGuard, path="/graphql", max_bytes=settings.api_max_body_bytes,
                       max_query_bytes=settings.api_max_query_bytes)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", "Authorization", "X-API-Key", "X-Curator"])
    app.add_middleware(SecurityHeaders)  # outermost: the guard's refusals carry the headers too

    app.state.health = HealthCheck(settings.api_health_ttl)
    ok = JSONResponse({"status": "ok", "database": "ok", "embeddingModel": settings.embedding_model}).body
    down = JSONResponse({"status": "unavailable", "database": "unreachable"}).body

    @app.get("/healthz")
    async def healthz(request: Request) -> Response:
        graph = AsyncGraph(request.app.state.driver, settings.neo4j_database, HEALTH_TIMEOUT_S)
        if await request.app.state.health.healthy(graph):
            return Response(ok, media_type="application/json")
        return Response(down, status_code=503, media_type="application/json")

    return app
