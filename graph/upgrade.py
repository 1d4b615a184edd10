"""A local home remembers which Neo4j version last ran its store; a newer one dumps it first.

A newer Neo4j upgrades an older store in place when it starts on it, and no older version opens
the store after that. So before `mind db start` runs a newer version on a home whose store an older
one wrote (5.26 homes made when it was the default), it writes `neo4j-admin database dump` of every
database with the older version's own tools into a folder beside the home, says where, and only
then lets the newer server upgrade the store. The dump is the way back (load it into the older
version). An older version is never started on a newer store: that is refused in one line.

The version is recorded in the home after every start; a home made before the record existed is
read from its logs (Neo4j's start banner), else taken as made by the earlier default, 5.26.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from mindkb.errors import MindError
from mindkb.output import note
from mindkb.settings import NEO4J_LTS_VERSION

if TYPE_CHECKING:
    from graph.localdb import LocalNeo4j

RECORD = "neo4j-version"  # in the home: the version that last ran its store
BANNER = re.compile(r"=+ Neo4j (\d+\.\d+\.\d+)\S* =+")
ADMIN_TOOL = "org.neo4j.cli.AdminTool"


def version_key(version: str) -> tuple[int, ...]:
    """5.26.30 < 2026.08.1: calendar majors are years."""
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def has_store(home: Path) -> bool:
    """A database folder in the home (a lock file alone is no store)."""
    databases = home / "data" / "databases"
    return databases.is_dir() and any(path.is_dir() for path in databases.iterdir())


def recorded_version(home: Path) -> str | None:
    try:
        return (home / RECORD).read_text().strip() or None
    except FileNotFoundError:
        return None


def logged_version(home: Path) -> str | None:
    """The newest version whose start banner the home's logs hold (homes from before the record):
    a store is at least as new as the newest server that opened it."""
    seen = set()
    for log in (home / "logs").glob("*.log*"):
        try:
            seen.update(BANNER.findall(log.read_text(errors="replace")))
        except OSError:
            continue
    return max(seen, key=version_key, default=None)


def store_version(home: Path) -> str | None:
    """The version that last ran the home's store; None for a home without one."""
    if not has_store(home):
        return None
    return recorded_version(home) or logged_version(home) or NEO4J_LTS_VERSION


def record_version(home: Path, version: str) -> None:
    """Written owner-only, as everything in the home, then moved into place."""
    partial = home / f"{RECORD}.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(version + "\n")
    partial.replace(home / RECORD)


def dump_folder(home: Path, version: str) -> Path:
    """Beside the home, named by the version whose tools wrote it."""
    return home.with_name(f"{home.name}-{version}-dump")


def _store_bytes(home: Path) -> int:
    total = 0
    for sub in ("databases", "transactions"):
        for path in (home / "data" / sub).rglob("*"):
            if path.is_file():
                total += path.stat().st_size
    return total


def dump(old: LocalNeo4j, folder: Path) -> list[Path]:
    """Every database of the (stopped) home, dumped by `old`'s version into `folder`.

    Written into a staging folder first: a failed dump never replaces an earlier good one.
    """
    need = _store_bytes(old.home)
    free = shutil.disk_usage(folder.parent if folder.parent.exists() else old.home).free
    if free < need:
        raise MindError(f"not enough disk space for a dump of {old.home} before upgrading it "
                        f"({need / 2**30:.1f} GiB needed, {free / 2**30:.1f} GiB free at {folder.parent})")
    java, lib = old.java(), old.ensure_jars()
    old.write_conf()
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700, parents=True)  # the system database holds the users' password hashes
    cmd = [java, "-Xmx512m", *old.jvm_options(), "-cp", f"{lib}/*", ADMIN_TOOL, "database", "dump",
           f"--to-path={staging}", "*"]
    env = dict(os.environ, NEO4J_HOME=str(old.home), NEO4J_CONF=str(old.conf_dir))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=old.home)
    dumps = sorted(staging.glob("*.dump"))
    if proc.returncode != 0 or not dumps:
        lines = [line.strip() for line in (proc.stderr + proc.stdout).splitlines()
                 if line.strip() and not line.startswith("WARNING")]
        shutil.rmtree(staging, ignore_errors=True)
        raise MindError(f"could not dump {old.home} with Neo4j {old.settings.neo4j_version} before upgrading it "
                        f"(the store is unchanged): {(lines or ['no output'])[-1][:300]} (a store that a newer "
                        f"version wrote: put that version into {old.home / RECORD})")
    for path in dumps:
        path.chmod(0o600)
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return sorted(folder.glob("*.dump"))


def prepare_home(local: LocalNeo4j) -> Path | None:
    """Before `local` starts: dump a store an older version wrote (returns the folder), refuse a
    newer one, do nothing for a new home or one of this version."""
    target = local.settings.neo4j_version
    found = store_version(local.home)
    if found is None or found == target:
        return None
    if version_key(found) > version_key(target):
        folder = dump_folder(local.home, target)
        back = f"; {folder} holds the dump written before that upgrade" if folder.exists() else ""
        raise MindError(f"the store in {local.home} was last run by Neo4j {found}, which Neo4j {target} cannot "
                        f"open: set MIND_NEO4J_VERSION={found}, or give {target} another MIND_NEO4J_HOME{back}")
    old = type(local)(local.settings.model_copy(update={"neo4j_version": found}))
    folder = dump_folder(local.home, found)
    note(f"the store in {local.home} was written by Neo4j {found}; dumping it to {folder} "
         f"before Neo4j {target} upgrades it ...")
    dumps = dump(old, folder)
    note(f"dumped {', '.join(p.name for p in dumps)} to {folder} (to go back: `neo4j-admin database load` "
         f"them into Neo4j {found}); starting Neo4j {target}, which upgrades the store")
    return folder
