"""The stage registry: every module in this package declares one stage, and nothing else lists them.

A module here defines `STAGE`, a `generation.stage.Stage` subclass whose `spec` says everything
about the stage (statements, prompt, parser, token budget, lease, unit of work). `STAGES` holds
them in pipeline order (each after the stage whose results it reads); the CLI's `--stage` choices,
the per-stage token budgets, their `MIND_MAX_NEW_TOKENS_<NAME>` overrides and the scan that frees
dead workers' leases all come from it.
"""

from __future__ import annotations

import importlib
import pkgutil
import socket
from graphlib import CycleError, TopologicalSorter

from neo4j import Driver

from generation.backends import Backend
from generation.stage import Stage, StageOptions, StageResult, dead_local_owner
from graph import generation as q
from graph.driver import Patient
from graph.generation import Lease


def _discover() -> dict[str, type[Stage]]:
    """The stage of every module in this package, in pipeline order."""
    found: dict[str, type[Stage]] = {}
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            stage = importlib.import_module(f"{__name__}.{info.name}").STAGE
            found[stage.spec.name] = stage
    needs = {name: [stage.spec.after] if stage.spec.after else [] for name, stage in found.items()}
    for name, after in needs.items():
        if after and after[0] not in found:
            raise ImportError(f"stage {name} runs after {after[0]}, which no module in {__name__} declares")
    try:
        return {name: found[name] for name in TopologicalSorter(needs).static_order()}
    except CycleError as exc:
        raise ImportError(f"the stages' order has a cycle: {exc.args[1]}") from None


STAGES: dict[str, type[Stage]] = _discover()
LEASES: tuple[Lease, ...] = tuple(stage.spec.lease for stage in STAGES.values())


def make_stage(name: str, driver: Driver, database: str, backend: Backend, options: StageOptions) -> Stage:
    """A stage by name, bound to a database, a backend and options."""
    return STAGES[name](driver, database, backend, options)


def release_dead_leases(db: Patient) -> int:
    """Free every stage's leases held by workers on this host whose process is gone (killed with -9, say).

    Without this a re-run right after a crash would find those units leased, skip them and finish
    with work missing until the leases expire.
    """
    host = socket.gethostname()
    dead = [o for o in db.read(q.live_lease_owners, LEASES) if dead_local_owner(o, host)]
    return db.write(q.drop_leases, dead, LEASES) if dead else 0


def run_stage(driver: Driver, database: str, backend: Backend, options: StageOptions, name: str) -> StageResult:
    """Run one stage by name over all its missing work, here."""
    bound = make_stage(name, driver, database, backend, options)
    release_dead_leases(bound.db)
    return bound.run()
