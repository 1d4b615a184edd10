# GraphiQL's browser files (pinned, checksummed) from npm: the API serves them itself, offline.
FROM python:3.11-slim AS graphiql
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
WORKDIR /build
COPY scripts/fetch_graphiql.py scripts/
COPY api/graphiql_assets.json api/
RUN python scripts/fetch_graphiql.py

# The API and the generation worker. GPU users: build FROM an nvidia/cuda or pytorch image instead.
FROM python:3.11-slim
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml requirements.lock README.md ./
COPY mindkb ./mindkb
COPY graph ./graph
COPY ingest ./ingest
COPY generation ./generation
COPY embedding ./embedding
COPY retrieval ./retrieval
COPY api ./api
COPY evaluation ./evaluation
COPY cli ./cli
COPY --from=graphiql /build/api/static/graphiql ./api/static/graphiql
RUN pip install --no-cache-dir -c requirements.lock .
ENV MIND_DATA_DIR=/data MIND_CACHE_DIR=/cache
VOLUME ["/data", "/cache"]
EXPOSE 8000
CMD ["mind", "serve", "--host", "0.0.0.0", "--port", "8000"]
