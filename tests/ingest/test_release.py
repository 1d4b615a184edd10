"""`mind import release`: files fetched over httpx from a local `file://` mirror into the cache,
checked against size and sha256, renamed into place only when they match, reused on a re-run,
then imported through `--format mind-csv`'s reading path."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
from pathlib import Path

import pytest

from ingest.release import Release, ReleaseFile, cache_folder, fetch_release, get_release, import_release
from mindkb.errors import MindError
from mindkb.quarantine import Quarantine
from tests.support.ingest import PAIRED_HEADER, intentions, paired_row, props


def _record(a: str, b: str, n: int, agreement: str) -> dict:
    return {"id_a": a, "id_b": b, "Relation": "usedFor", "Agreement": agreement, "Product_a": f"item {a}",
            "Product_b": f"item {b}", "item_a_img1_url": f"https://img.example/{a}.jpg", "item_a_cate": "Toys & Games",
            "Intention": f"The potential co-buy intention could be that they are both used for party number {n}."}


def _batch(folder: Path, name: str, start: int) -> Path:
    """A release file in FolkScope's layout: 2 rows, 4 records."""
    path = folder / "Annotation" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(PAIRED_HEADER)
        for n in range(start, start + 4, 2):
            writer.writerow(paired_row(_record(f"R{n:04d}", f"R{n + 1:04d}", n, "Yes, both."),
                                 _record(f"R{n + 1:04d}", f"R{n + 2:04d}", n + 1, "No, they differ.")))
    return path


def _release(mirror: Path, files: list[Path]) -> Release:
    return Release(name="test-release", title="two batches built by the test", repository="file://", license="MIT",
                   commit="0" * 40, base_url=mirror.as_uri(), format="mind-csv",
                   files=tuple(ReleaseFile(str(f.relative_to(mirror)), f.stat().st_size,
                                           hashlib.sha256(f.read_bytes()).hexdigest()) for f in files))


@pytest.fixture
def mirror(tmp_path) -> tuple[Path, Release]:
    folder = tmp_path / "mirror"
    files = [_batch(folder, "b1.csv", 0), _batch(folder, "b2.csv", 100)]
    return folder, _release(folder, files)


@pytest.fixture
def cached(settings, tmp_path):
    return settings.model_copy(update={"cache_dir": tmp_path / "cache"})


def _cache_files(settings) -> list[Path]:
    root = settings.cache_dir / "releases"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_fetch_checks_renames_and_reuses_the_cache(mirror, cached):
    folder, release = mirror
    first = fetch_release(release, cached)
    assert (first.downloaded, first.cached) == (2, 0)
    assert _cache_files(cached) == first.paths == [cache_folder(cached, release) / "b1.csv",
                                                   cache_folder(cached, release) / "b2.csv"]
    assert [p.read_bytes() for p in first.paths] == [(folder / "Annotation" / n).read_bytes() for n in ("b1.csv", "b2.csv")]

    again = fetch_release(release, cached)
    assert (again.downloaded, again.cached) == (0, 2)

    first.paths[1].write_bytes(b"damaged in the cache")  # a cached file that no longer matches is fetched again
    repaired = fetch_release(release, cached)
    assert (repaired.downloaded, repaired.cached) == (1, 1)
    assert first.paths[1].read_bytes() == (folder / "Annotation" / "b2.csv").read_bytes()


def test_a_checksum_mismatch_is_refused_and_leaves_nothing(mirror, cached):
    folder, release = mirror
    tampered = folder / "Annotation" / "b1.csv"
    tampered.write_bytes(tampered.read_bytes().replace(b"party", b"PARTY"))  # same size, other bytes
    with pytest.raises(MindError) as err:
        fetch_release(release, cached)
    message = str(err.value)
    assert "\n" not in message and "checksum mismatch" in message and "b1.csv" in message
    assert _cache_files(cached) == []

    tampered.write_bytes(tampered.read_bytes() + b"more")  # larger than published: refused while reading
    with pytest.raises(MindError, match="larger than the published"):
        fetch_release(release, cached)
    assert _cache_files(cached) == []

    missing = dataclasses.replace(release, base_url=(folder / "nowhere").as_uri())
    with pytest.raises(MindError, match="HTTP 404"):
        fetch_release(missing, cached)
    assert _cache_files(cached) == []


def test_import_release_loads_every_file(mirror, cached, empty_graph, settings, tmp_path):
    folder, release = mirror
    fetched = fetch_release(release, cached)
    with Quarantine(tmp_path / "q.jsonl") as q:
        summary = import_release(empty_graph, settings, release, fetched, q)
    assert (summary["release"], summary["files"], summary["downloaded"]) == ("test-release", 2, 2)
    assert (summary["read"], summary["intentions"], summary["quarantined"]) == (8, 8, 0)
    rows = intentions(empty_graph, settings, "mind-csv")
    assert sorted(r["props"]["status"] for r in rows) == ["ACCEPTED"] * 4 + ["REJECTED"] * 4
    assert props(empty_graph, settings, "R0100")["R0100"]["mainCat"] == "Toys & Games"


def test_the_cli_refuses_a_mirror_whose_files_differ_from_the_published_ones(cli, tmp_path):
    """The bundled manifest (the public FolkScope release) against a mirror of other bytes."""
    release = get_release("folkscope")
    assert len(release.files) == 4 and release.commit == "cc66ac7a6a0398b8cd265b54bc9ef7704b3903bb"
    folder = tmp_path / "mirror"
    for f in release.files:
        (folder / f.path).parent.mkdir(parents=True, exist_ok=True)
        (folder / f.path).write_bytes(b"x" * f.size)
    env = {"MIND_CACHE_DIR": str(tmp_path / "cache")}
    r = cli("import", "release", "folkscope", "--base-url", folder.as_uri(), "--json", env=env)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("mind: ") and "checksum mismatch" in last and release.files[0].name in last
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []

    offline = cli("import", "release", "folkscope", "--download-only", "--json",
                  env={**env, "MIND_RELEASE_BASE_URL": "http://127.0.0.1:9/FolkScope"})
    assert offline.returncode == 1 and "cannot download" in offline.stderr.strip().splitlines()[-1]
    assert "Traceback" not in offline.stderr
