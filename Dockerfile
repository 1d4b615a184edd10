# GraphiQL's browser files (pinned, checksummed) from npm: the API serves them itself, offline.
FROM python:3.11-slim AS graphiql
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
WORKDIR /build
COPY scripts/fetch_graphiql.py scripts/
COPY api/graphiql_assets.json api/
RUN python scripts/fetch_graphiql.py

# The code, shared by the images below.
FROM python:3.11-slim AS source
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

# The embedding model's ONNX export needs torch (the full install, its CPU build here); only the
# export leaves this stage. Its int8 recipe follows this build machine's CPU (embedding/models.py).
FROM source AS onnx-export
RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu -c requirements.lock '.[full]' \
    && MIND_CACHE_DIR=/export python -m embedding.export_onnx

# The generation worker (`docker build --target worker`): the full install, PyPI's torch with CUDA.
# GPU users: build FROM an nvidia/cuda or pytorch image instead.
FROM source AS worker
RUN pip install --no-cache-dir -c requirements.lock '.[full]'
ENV MIND_DATA_DIR=/data MIND_CACHE_DIR=/cache
VOLUME ["/data", "/cache"]
CMD ["mind", "generate", "--stage", "all", "--json"]

# The API (the default target): the `serve` install, no torch, running the export made above.
FROM source AS api
RUN pip install --no-cache-dir -c requirements.lock '.[serve]'
# Into the cache volume's path: a new named volume starts with it (docker-compose.yml: mind-cache).
COPY --from=onnx-export /export/onnx /cache/onnx
# No secret is baked in: NEO4J_PASSWORD and MIND_API_KEY come from the environment at run time
# (without a key the API is read-only). Inside a container the API must listen on the container's
# own interface for a published port to reach it, so MIND_API_HOST is 0.0.0.0 here only; which host
# addresses reach it is decided where the port is published (docker-compose.yml: 127.0.0.1).
ENV MIND_DATA_DIR=/data MIND_CACHE_DIR=/cache MIND_API_HOST=0.0.0.0
VOLUME ["/data", "/cache"]
EXPOSE 8000
CMD ["mind", "serve", "--port", "8000"]
