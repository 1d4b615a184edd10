"""The FastAPI application: GraphQL (GraphiQL in a browser, from local files) at /graphql and GET /healthz.

The embedding model and the async Neo4j driver are created once, in the lifespan; every request
gets its own loaders and round-trip counter around the shared driver.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response

from api.context import Context
from api.graphiql import LocalGraphiQLRouter, mount_graphiql_assets
from api.guard import GraphQLBodyGuard
from api.health import TIMEOUT_S as HEALTH_TIMEOUT_S
from api.health import HealthCheck
from api.loaders import Loaders
from api.schema import build_schema
from embedding.encoder import TextEncoder
from graph.aio import AsyncGraph, make_async_driver
from mindkb.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.api_torch_threads:
            import torch

            torch.set_num_threads(settings.api_torch_threads)
        app.state.encoder = await asyncio.to_thread(
            TextEncoder.load, settings.embedding_model, settings.device, 1, settings.api_embedding_cache,
            settings.embedding_backend, settings.api_torch_threads)
        app.state.driver = make_async_driver(settings)
        try:
            yield
        finally:
            await app.state.driver.close()

    async def get_context(request: Request) -> Context:
        graph = AsyncGraph(request.app.state.driver, settings.neo4j_database, settings.api_db_timeout)
        return Context(graph=graph, loaders=Loaders(graph), encoder=request.app.state.encoder,
                       settings=settings)

    app = FastAPI(title="MIND-KB", lifespan=lifespan, docs_url=None, redoc_url=None)
    router = LocalGraphiQLRouter(build_schema(settings), context_getter=get_context, graphql_ide="graphiql")
    app.include_router(router, prefix="/graphql")
    mount_graphiql_assets(app, "/graphql")
    app.add_middleware(GraphQLBodyGuard, path="/graphql", max_bytes=settings.api_max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", "Authorization", "X-API-Key", "X-Curator"])

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
