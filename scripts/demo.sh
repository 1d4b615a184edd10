#!/usr/bin/env bash
# The main job: the bundled sample through the three LLaVA stages, the authors' released output as the
# knowledge to search (scripts/demo-knowledge.sh), embeddings, then the API.
# MIND_MODEL=<HF id or folder> uses a real LLaVA; unset, a tiny RANDOM model runs: its text is noise,
# stored with `noise: true` and left out of search, recommend and stats unless asked for.
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
  echo "demo: MIND_MODEL is not set, so the stages run a TINY RANDOM LLaVA to show the pipeline: its intentions" \
       "are noise, marked as such and left out of search and recommend (sources: [\"noise\"] shows them)." >&2
  echo "demo: on a GPU, MIND_MODEL=llava-hf/llava-1.5-13b-hf make demo (or see README for vLLM)." >&2
  mind model tiny "$DATA/tiny-llava" --json
  MODEL="$DATA/tiny-llava"
  GEN_ARGS=(--max-new-tokens 48)  # noise either way; keep the CPU run short
fi
mind generate --stage all --model "$MODEL" "${GEN_ARGS[@]}" --json
# After the stages, so that a random filter never judges released text.
BIN="$BIN" bash scripts/demo-knowledge.sh
mind embed --json
mind stats

port=${MIND_API_PORT:-8000}
cat >&2 <<TXT

Neo4j Browser:  http://localhost:${MIND_NEO4J_HTTP_PORT:-7474}/browser/   (user neo4j, password in ${MIND_NEO4J_HOME:-~/.local/share/mind/neo4j}/password)
GraphiQL:       http://localhost:${port}/graphql
Try:
  curl -s localhost:${port}/graphql -H 'content-type: application/json' -d '{"query":"{ searchIntentions(text: \"gift for a child'"'"'s birthday party\", k: 3) { score intention { text relation source } } }"}'
  curl -s localhost:${port}/graphql -H 'content-type: application/json' -d '{"query":"{ searchIntentions(text: \"stay safe running at night\", k: 3) { score intention { text relation } } }"}'
  curl -s localhost:${port}/graphql -H 'content-type: application/json' -d '{"query":"{ recommend(intention: \"protect my new phone\", k: 3, contextAsin: \"MD00PHN001\") { score product { asin title } } }"}'
TXT
if [ "${MIND_DEMO_SERVE:-1}" != "0" ]; then
  exec "$BIN/mind" serve --port "$port"
fi
