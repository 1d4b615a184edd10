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
COPY engine ./engine
COPY ingest ./ingest
COPY generation ./generation
COPY embedding ./embedding
COPY retrieval ./retrieval
COPY api ./api
COPY evaluation ./evaluation
COPY cli ./cli
COPY --from=graphiql /build/api/static/graphiql ./api/static/graphiql
RUN pip install --no-cache-dir -c requirements.lock .
# No secret is baked in: NEO4J_PASSWORD and MIND_API_KEY come from the environment at run time
# (without a key the API is read-only). Inside a container the API must listen on the container's
# own interface for a published port to reach it, so MIND_API_HOST is 0.0.0.0 here only; which host
# addresses reach it is decided where the port is published (docker-compose.yml: 127.0.0.1).
ENV MIND_DATA_DIR=/data MIND_CACHE_DIR=/cache MIND_API_HOST=0.0.0.0
VOLUME ["/data", "/cache"]
EXPOSE 8000
CMD ["mind", "serve", "--port", "8000"]
