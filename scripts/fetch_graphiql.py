#!/usr/bin/env python3
"""Fetch GraphiQL's browser files from the npm registry into api/static/graphiql/ (`make install`).

The API serves GraphiQL from these local copies, so the page works offline and behind firewalls
that block public CDNs. Versions and the tarballs' sha512 are pinned in api/graphiql_assets.json;
a tarball whose checksum differs is refused. Standard library only: it runs before the venv exists.
  python3 scripts/fetch_graphiql.py [--dest DIR]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "api" / "graphiql_assets.json"
DEST = REPO / "api" / "static" / "graphiql"
STAMP = ".fetched"


class FetchError(Exception):
    pass


def sri_sha512(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def npm_pack(spec: str, into: Path) -> Path:
    """`npm pack` one pinned package into `into`; the tarball's path."""
    npm = shutil.which("npm")
    if npm is None:
        raise FetchError("npm is not installed: install Node.js and npm (apt-get install npm) to fetch GraphiQL")
    run = subprocess.run([npm, "pack", spec, "--json", "--silent", "--pack-destination", str(into)],
                         cwd=into, capture_output=True, text=True)
    if run.returncode != 0:
        reason = (run.stderr.strip().splitlines() or ["no output"])[-1]
        raise FetchError(f"npm pack {spec} failed: {reason}")
    try:
        filename = json.loads(run.stdout)[0]["filename"]
    except (ValueError, LookupError, TypeError):
        raise FetchError(f"npm pack {spec} printed no tarball name") from None
    return into / filename


def extract(tarball: Path, files: dict[str, str], dest: Path) -> None:
    """Copy only the named members (npm tarballs put everything under package/)."""
    with tarfile.open(tarball, "r:gz") as tar:
        for member, name in files.items():
            try:
                source = tar.extractfile(f"package/{member}")
            except KeyError:
                source = None
            if source is None:
                raise FetchError(f"{tarball.name} has no file {member}")
            (dest / name).write_bytes(source.read())


def fetch(dest: Path) -> bool:
    """Fetch every pinned package; False when `dest` already holds this manifest's files."""
    manifest_bytes = MANIFEST.read_bytes()
    stamp = hashlib.sha256(manifest_bytes).hexdigest()
    packages = json.loads(manifest_bytes)["packages"]
    wanted = [name for p in packages for name in p["files"].values()]
    if (dest / STAMP).is_file() and (dest / STAMP).read_text().strip() == stamp \
            and all((dest / name).is_file() for name in wanted):
        return False
    with tempfile.TemporaryDirectory(prefix="graphiql-") as tmp:
        work, staged = Path(tmp) / "tarballs", Path(tmp) / "graphiql"
        work.mkdir()
        staged.mkdir()
        for package in packages:
            spec = f"{package['name']}@{package['version']}"
            tarball = npm_pack(spec, work)
            got = sri_sha512(tarball)
            if got != package["integrity"]:
                raise FetchError(f"{spec}: checksum {got[:30]}... differs from the pinned {package['integrity'][:30]}...")
            extract(tarball, package["files"], staged)
        (staged / STAMP).write_text(stamp + "\n")
        dest.parent.mkdir(parents=True, exist_ok=True)
        old = dest.with_name(dest.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if dest.exists():
            dest.rename(old)
        shutil.move(str(staged), dest)
        shutil.rmtree(old, ignore_errors=True)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEST, help=f"where the files go (default {DEST})")
    args = parser.parse_args()
    try:
        fetched = fetch(args.dest)
    except (FetchError, OSError, tarfile.TarError) as exc:
        print(f"fetch_graphiql: {exc}", file=sys.stderr)
        return 1
    print(f"GraphiQL files {'fetched into' if fetched else 'already in'} {args.dest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
