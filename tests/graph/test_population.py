"""The vector index's population buffer: one segment when it fits, within the heap and Lucene's limit."""

from __future__ import annotations

import pytest

from graph import population as p
from mindkb.settings import Settings

GB = 1024 * p.MIB


def test_size_bytes_reads_neo4j_and_jvm_sizes():
    assert p.size_bytes("2g") == 2 * GB and p.size_bytes("512m") == 512 * p.MIB
    assert p.size_bytes("1024k") == p.MIB and p.size_bytes("4GiB") == 4 * GB and p.size_bytes("100") == 100
    with pytest.raises(ValueError):
        p.size_bytes("lots")


def test_a_buffer_that_fits_holds_every_vector_in_one_segment():
    mb = p.population_buffer_mb(126_444, 384, 8 * GB)  # scale 0.1
    assert p.expected_segments(126_444, 384, mb) == 1
    assert mb < 0.25 * 8 * 1024  # and no more than it needs: about 2 KB a vector
    assert 200 <= mb <= 300


def test_the_buffer_stays_within_a_share_of_the_heap_and_lucenes_limit():
    full = 1_264_441
    assert p.population_buffer_mb(full, 384, 2 * GB) == 512  # a quarter of the default heap
    assert p.expected_segments(full, 384, 512) == 5
    assert p.population_buffer_mb(full, 384, 64 * GB) == p.LUCENE_MAX_MB  # Lucene's per-thread limit
    assert p.expected_segments(full, 384, p.LUCENE_MAX_MB) == 2  # as measured at full scale
    for heap in (1 * GB, 2 * GB, 6 * GB, 32 * GB):
        for n in (0, 1_000, 100_000, 5_000_000):
            mb = p.population_buffer_mb(n, 384, heap)
            assert 1 <= mb <= min(p.LUCENE_MAX_MB, heap / p.MIB * p.HEAP_SHARE)


def test_the_buffer_has_a_floor_unless_the_heap_is_tiny():
    assert p.population_buffer_mb(0, 384, 2 * GB) == p.FLOOR_MB
    assert p.population_buffer_mb(10, 384, 2 * GB) == p.FLOOR_MB
    assert p.population_buffer_mb(10_000, 384, 32 * p.MIB) == 8  # a quarter of a 32 MB heap
    assert p.population_buffer_mb(10_000, 384, 2 * p.MIB) == 1
    with pytest.raises(ValueError):
        p.population_buffer_mb(-1, 384, GB)


def test_the_setting_wins_and_unset_the_buffer_is_chosen():
    chosen = Settings(neo4j_heap="4g", neo4j_vector_population_buffer_mb=None)
    assert p.chosen_buffer_mb(chosen, 126_444, 384) == (p.population_buffer_mb(126_444, 384, 4 * GB), "chosen")
    assert p.with_population_buffer(chosen, 126_444, 384).neo4j_vector_population_buffer_mb == \
        p.population_buffer_mb(126_444, 384, 4 * GB)
    given = Settings(neo4j_heap="4g", neo4j_vector_population_buffer_mb=64)
    assert p.chosen_buffer_mb(given, 126_444, 384) == (64.0, "setting")
    assert p.with_population_buffer(given, 126_444, 384) is given
