#!/usr/bin/env bash
# Install Debian packages for missing commands: `ensure-tools.sh COMMAND:PACKAGE ...`
# (npm fetches GraphiQL's files at install time; chromium runs the GraphiQL page in the tests).
set -euo pipefail
need=()
for pair in "$@"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
[ ${#need[@]} -eq 0 ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing ${need[*]} with apt-get ..." >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "missing: ${need[*]} (install them with your package manager)" >&2
  exit 1
fi
