#!/usr/bin/env bash
# Real knowledge for the demo: the MIND authors' released LLaVA-1.5 output.
# From $MIND_SHARED_DIR/mind-real (default: ../shared beside the checkout) when it is there, else the
# public release (`mind import release folkscope`: downloaded once into the cache, checksums verified).
# Offline, it says so in one line and returns 0: the demo goes on with the sample's hand-written intentions.
set -euo pipefail
BIN=${BIN:-.venv/bin}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${MIND_SHARED_DIR:-$ROOT/../shared}
mind() { (cd "$ROOT" && "$BIN/python" -m cli "$@"); }

real="$SHARED/mind-real/mind_output.dev.csv"
if [ -f "$real" ]; then
  echo "demo: importing the authors' released output from $real" >&2
  mind import intentions "$real" --format mind-csv --json
  exit 0
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "demo: fetching the authors' released output (FolkScope release, MIT, 11.7 MB; cached after the first run)" >&2
# The download's progress lines (one every few seconds, with bytes and rate) pass through as they come;
# the release's note line and an error are kept back, so that a failure reads as one line of the demo's.
set +e
mind import release folkscope --download-only --json 2>&1 >/dev/null | while IFS= read -r line; do
  case "$line" in
    "folkscope: "* | "mind: "*) printf '%s\n' "$line" >>"$log" ;;
    *) printf '%s\n' "$line" >&2 ;;
  esac
done
fetched=${PIPESTATUS[0]}
set -e
if [ "$fetched" = 0 ]; then
  mind import release folkscope --json
else
  reason=$(grep -v '^folkscope: ' "$log" | tail -n 1)
  echo "demo: could not fetch the released knowledge (${reason#mind: }); going on with the sample's hand-written intentions" >&2
fi
