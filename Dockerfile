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
RUN pip install --no-cache-dir -c requirements.lock .
ENV MIND_DATA_DIR=/data MIND_CACHE_DIR=/cache
VOLUME ["/data", "/cache"]
EXPOSE 8000
CMD ["mind", "serve", "--host", "0.0.0.0", "--port", "8000"]
