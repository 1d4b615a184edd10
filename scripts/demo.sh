#!/usr/bin/env bash
# The main job on the bundled sample; each stage is skipped with a note until it is available.
set -euo pipefail
BIN=${BIN:-.venv/bin}
"$BIN/mind" init --json
echo "Neo4j Browser: http://localhost:${MIND_NEO4J_HTTP_PORT:-7474}/browser/" >&2
