"""scripts/demo-knowledge.sh, the demo's step that loads the authors' released output: from the shared
folder when it is there, else the public release; offline, one line and the demo goes on."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from itertools import islice
from pathlib import Path

from tests.support.cli import CliResult
from tests.support.ingest import intentions
from tests.support.paths import REPO, shared_file

SCRIPT = REPO / "scripts" / "demo-knowledge.sh"


def run_script(env: dict) -> CliResult:
    full = {**os.environ, "BIN": str(Path(sys.executable).parent), **env}
    return CliResult(subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=full, timeout=600,
                                    cwd=REPO))


def test_the_shared_folder_comes_first(empty_graph, settings, tmp_path):
    source = shared_file("mind-real/mind_output.dev.csv")
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        records = list(islice(reader, 12))
    shared = tmp_path / "shared"
    (shared / "mind-real").mkdir(parents=True)
    with (shared / "mind-real" / "mind_output.dev.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(records)
    # A release base URL that cannot answer: the shared folder must not need it.
    r = run_script({"MIND_SHARED_DIR": str(shared), "MIND_RELEASE_BASE_URL": "http://127.0.0.1:9/none",
                    "MIND_CACHE_DIR": str(tmp_path / "cache")})
    assert r.returncode == 0, r.stderr
    assert f"demo: importing the authors' released output from {shared}" in r.stderr
    assert (r.summary["read"], r.summary["intentions"], r.summary["quarantined"]) == (12, 12, 0)
    assert len(intentions(empty_graph, settings, "mind-csv")) == 12


def test_offline_it_says_so_in_one_line_and_goes_on(tmp_path):
    r = run_script({"MIND_SHARED_DIR": str(tmp_path / "no-shared"), "MIND_CACHE_DIR": str(tmp_path / "cache"),
                    "MIND_RELEASE_BASE_URL": "http://127.0.0.1:9/FolkScope"})
    assert r.returncode == 0, r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("demo: fetching the authors' released output") and len(lines) == 2
    assert lines[1].startswith("demo: could not fetch the released knowledge (cannot download http://127.0.0.1:9/")
    assert "offline" in lines[1] and lines[1].endswith("going on with the sample's hand-written intentions")
    assert r.stdout == "" and [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


def test_download_progress_is_shown_as_it_comes_and_a_failure_is_still_one_line(tmp_path: Path) -> None:
    """A mirror whose first file has the published size but other bytes: its download is reported, then refused."""
    from ingest.release import get_release

    release = get_release("folkscope")
    mirror = tmp_path / "mirror"
    for f in release.files:
        (mirror / f.path).parent.mkdir(parents=True, exist_ok=True)
        (mirror / f.path).write_bytes(b"x" * f.size)
    env = {k: v for k, v in os.environ.items() if k != "MIND_PROGRESS"}  # the suite turns progress off
    full = {**env, "BIN": str(Path(sys.executable).parent), "MIND_SHARED_DIR": str(tmp_path / "no-shared"),
            "MIND_CACHE_DIR": str(tmp_path / "cache"), "MIND_RELEASE_BASE_URL": mirror.as_uri()}
    r = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=full, timeout=600, cwd=REPO)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("demo: fetching the authors' released output")
    shown = [line for line in lines[1:-1] if line.startswith("download folkscope:")]
    assert shown and shown == lines[1:-1], lines  # progress only, no note or error line in between
    assert f"{release.files[0].size / 1e6:.2f}M/{release.size / 1e6:.1f}M" in shown[-1]
    assert lines[-1].startswith("demo: could not fetch the released knowledge (") and "checksum mismatch" in lines[-1]
