"""The Lucene RAM buffer a vector index is populated with, chosen from what is about to be indexed.

When Neo4j builds a vector index over stored vectors (after a bulk import, or a dropped index
rebuilt), one writer thread buffers vectors and their in-memory HNSW graph and flushes a segment
each time the buffer fills. Every query searches every segment, so a buffer that holds all the
vectors gives one segment and the fastest queries, at the cost of a slower build (BENCHMARKS.md,
"Vector index population": one segment 4.4x faster queries for a 1.8x longer build at scale 0.2).
The buffer lives on the server's heap, so it is capped at a safe share of the heap, and at the
most Lucene lets one writer thread buffer.
"""

from __future__ import annotations

import math
import re

from mindkb.settings import Settings

MIB = 1024 * 1024
# Lucene's hard limit per writer thread is 1945 MB; a buffer beyond it flushes at the limit anyway.
LUCENE_MAX_MB = 1900
# The server keeps transactions, query state and caches on the same heap during the build.
HEAP_SHARE = 0.25
# Below this a buffer gains nothing over Neo4j's own (1-64 MiB by version and machine).
FLOOR_MB = 16
# Lucene's own accounting: float32 vector, HNSW neighbour arrays on level 0 (2m+1 ids and scores),
# and the per-document overhead of the buffer; x1.1 so the last vectors do not spill into a segment
# of their own.
DOC_OVERHEAD_BYTES = 160
HEADROOM = 1.1

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": MIB, "g": 1024 * MIB, "t": 1024 * 1024 * MIB}


def size_bytes(text: str) -> int:
    """A memory size as Neo4j and the JVM write it ("2g", "512m", "1024k", "4GiB", bytes) in bytes."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"not a memory size: {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def bytes_per_vector(dimensions: int, m: int = 16) -> int:
    """What one buffered vector costs the writer: the vector, its level-0 neighbours, the document."""
    return 4 * dimensions + 8 * (2 * m + 1) + DOC_OVERHEAD_BYTES


def population_buffer_mb(vectors: int, dimensions: int, heap_bytes: int, m: int = 16) -> int:
    """The buffer (MiB) that holds all `vectors` in one segment, capped at HEAP_SHARE of the heap and
    at Lucene's per-thread limit (more vectors than that: as few segments as the cap allows), and
    never below FLOOR_MB (or the cap, on a heap too small for the floor). At least 1."""
    if vectors < 0 or dimensions < 1 or heap_bytes < 1:
        raise ValueError("vectors >= 0, dimensions >= 1 and heap_bytes >= 1 are required")
    cap = min(LUCENE_MAX_MB, math.floor(HEAP_SHARE * heap_bytes / MIB))
    need = math.ceil(vectors * bytes_per_vector(dimensions, m) * HEADROOM / MIB)
    return max(1, min(max(need, FLOOR_MB), cap))


def expected_segments(vectors: int, dimensions: int, buffer_mb: float, m: int = 16) -> int:
    """How many segments a population with this buffer flushes (before any merge)."""
    if vectors <= 0:
        return 0
    per_segment = max(1, math.floor(buffer_mb * MIB / bytes_per_vector(dimensions, m)))
    return math.ceil(vectors / per_segment)


def chosen_buffer_mb(settings: Settings, vectors: int, dimensions: int) -> tuple[float, str]:
    """The buffer a population of `vectors` runs with and where it comes from: the setting when one
    is given (MIND_NEO4J_VECTOR_POPULATION_BUFFER_MB), else `population_buffer_mb` for the local
    server's heap."""
    if settings.neo4j_vector_population_buffer_mb:
        return float(settings.neo4j_vector_population_buffer_mb), "setting"
    return float(population_buffer_mb(vectors, dimensions, size_bytes(settings.neo4j_heap))), "chosen"


def with_population_buffer(settings: Settings, vectors: int, dimensions: int) -> Settings:
    """The settings a server is started with before it builds vector indexes over `vectors` stored
    vectors: the setting kept when given, else the chosen buffer filled in (it reaches neo4j.conf)."""
    if settings.neo4j_vector_population_buffer_mb:
        return settings
    mb, _ = chosen_buffer_mb(settings, vectors, dimensions)
    return settings.model_copy(update={"neo4j_vector_population_buffer_mb": mb})
