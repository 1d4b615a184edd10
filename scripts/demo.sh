#!/usr/bin/env bash
# The main job on the bundled sample: ingest, the three LLaVA stages, embeddings, then the API.
# MIND_MODEL=<HF id or folder> uses a real LLaVA; unset, a tiny RANDOM model runs (its text is noise).
# MIND_DEMO_SERVE=0 stops after the pipeline instead of serving.
set -euo pipefail
BIN=${BIN:-.venv/bin}
DATA=${MIND_DATA_DIR:-data}
mind() { "$BIN/mind" "$@"; }

mind init --json
"$BIN/python" -m ingest.sample_images "$DATA/sample-images"
mind ingest catalog ingest/sample/catalog.jsonl --images-dir "$DATA/sample-images" --json
# Hand-written intentions for the sample pairs, so search and recommend have real text to show.
mind import intentions ingest/sample/intentions.jsonl --format jsonl --json

MODEL=${MIND_MODEL:-}
GEN_ARGS=()
if [ -z "$MODEL" ]; then
  echo "demo: MIND_MODEL is not set, so the stages run a TINY RANDOM LLaVA: its intentions are noise." >&2
  echo "demo: on a GPU, MIND_MODEL=llava-hf/llava-1.5-13b-hf make demo (or see README for vLLM)." >&2
  mind model tiny "$DATA/tiny-llava" --json
  MODEL="$DATA/tiny-llava"
  GEN_ARGS=(--max-new-tokens 48)  # noise either way; keep the CPU run short
fi
mind generate --stage all --model "$MODEL" "${GEN_ARGS[@]}" --json
mind embed --json
mind stats

port=${MIND_API_PORT:-8000}
cat >&2 <<TXT

Neo4j Browser:  http://localhost:${MIND_NEO4J_HTTP_PORT:-7474}/browser/   (user neo4j, password in ${MIND_NEO4J_HOME:-~/.local/share/mind/neo4j}/password)
GraphiQL:       http://localhost:${port}/graphql
Try:
  curl -s localhost:${port}/graphql -H 'content-type: application/json' -d '{"query":"{ searchIntentions(text: \"stay safe running at night\", k: 3) { score intention { text relation } } }"}'
  curl -s localhost:${port}/graphql -H 'content-type: application/json' -d '{"query":"{ recommend(intention: \"protect my new phone\", k: 3, contextAsin: \"MD00PHN001\") { score product { asin title } } }"}'
TXT
if [ "${MIND_DEMO_SERVE:-1}" != "0" ]; then
  exec "$BIN/mind" serve --port "$port"
fi
