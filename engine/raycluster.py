"""Ray for `--engine ray`: joining a cluster, sizing the actor pool, settings for the actors.

`mind generate` and `mind embed` run on Ray the same way: the driver cuts the missing work into
partitions (key ranges read from Neo4j), `ray.data.from_items` makes one row per partition, and
`map_batches` hands each row to an actor of a fixed pool. An actor holds the model and its own
Neo4j driver, and does its partition as the in-process engine does all the work: read (claim under
a lease), compute, write through graph/. The driver adds up what the actors return.

Importing this module imports Ray (1-2 s); the engines that use it are imported only when
`--engine ray` is asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import ray
from pydantic import SecretStr
from ray.data import ActorPoolStrategy, Dataset

from mindkb.errors import BadOption, MindError, literal
from mindkb.output import progress_wanted
from mindkb.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Session:
    joined: bool  # this call connected, so `leave` disconnects
    local: bool  # this call started a local Ray (no autoscaler: `pool` checks what it can hold)


def join(address: str | None) -> Session:
    """Connect to the Ray at `address` (settings.ray_address: MIND_RAY_ADDRESS, else RAY_ADDRESS);
    unset or `local`: start a local one for this run.

    A process that is already connected (a test session, a notebook) stays connected as it is.
    """
    if ray.is_initialized():
        return Session(joined=False, local=False)
    target = address or None
    local = target in (None, "local")
    kwargs: dict = {"logging_level": logging.WARNING}
    if local:
        kwargs["include_dashboard"] = False  # a Ray for one run: no web UI to serve
    try:
        ray.init(address=target, **kwargs)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadOption(f"cannot join Ray at {{ray_address}} {literal(target)}: {literal(first)}") from None
    return Session(joined=True, local=local)


def leave(session: Session) -> None:
    if session.joined and ray.is_initialized():
        ray.shutdown()


@dataclass(frozen=True)
class Pool:
    """The actor pool of one pipeline: how many actors, and what each one holds."""

    actors: int
    gpus: float
    cpus: float
    partition: int  # units of work per partition (one actor call)

    def map_args(self, partitions: int) -> dict:
        """`map_batches` arguments: a fixed pool (no larger than the partitions), one partition per call."""
        return {"compute": ActorPoolStrategy(size=max(1, min(self.actors, partitions))),
                "num_gpus": self.gpus or None, "num_cpus": self.cpus, "batch_size": 1}

    def summary(self) -> dict:
        return {"engine": "ray", "actors": self.actors, "gpus_per_actor": self.gpus, "partition": self.partition}


def pool(settings: Settings, batch_size: int, session: Session) -> Pool:
    """Actors and GPUs per actor from the settings, defaulting to one actor per GPU of the cluster.

    A local Ray started for this run has no autoscaler, so a pool it cannot hold is refused here
    rather than waited for; a cluster may scale up for it.
    """
    resources = ray.cluster_resources()
    gpus_there, cpus_there = resources.get("GPU", 0.0), resources.get("CPU", 0.0)
    gpus = settings.ray_gpus_per_actor
    if gpus is None:
        gpus = 1.0 if gpus_there >= 1 else 0.0
    actors = settings.ray_actors
    if actors is None:
        actors = max(1, int(gpus_there // gpus)) if gpus else 1
    cpus = settings.ray_cpus_per_actor
    if session.local:
        if actors * gpus > gpus_there:
            raise BadOption(f"{{actors}} {actors} x {{gpus_per_actor}} {gpus:g} needs {actors * gpus:g} GPUs; "
                            f"this machine has {gpus_there:g}")
        if actors * cpus > cpus_there:
            raise BadOption(f"{{actors}} {actors} actors of {cpus:g} CPUs (MIND_RAY_CPUS_PER_ACTOR) need "
                            f"{actors * cpus:g} CPUs; this machine has {cpus_there:g}")
    partition = settings.ray_partition_size or 8 * batch_size
    return Pool(actors=actors, gpus=gpus, cpus=cpus, partition=partition)


def worker_settings(settings: Settings) -> Settings:
    """The settings the actors connect with: the password resolved here, since the file that
    `mind db start` wrote exists only on this machine."""
    return settings.model_copy(update={"neo4j_password": SecretStr(settings.password())})


def partitions(rows: list[dict]) -> Dataset:
    """One dataset row, and one block, per partition: each actor call takes one, and the driver
    hears of each as soon as it is done."""
    # Ray Data's progress: its bars on a terminal, else INFO lines; both follow MIND_PROGRESS like ours.
    logging.getLogger("ray.data").setLevel(logging.INFO if progress_wanted() else logging.WARNING)
    return ray.data.from_items(rows, override_num_blocks=max(1, len(rows)))


def results(dataset: Dataset) -> Iterator[dict]:
    """The actors' answers, one batch per partition, as the pipeline makes them; a pipeline that
    fails (an actor that cannot load its model, a task out of retries, a lost node) is one MindError."""
    try:
        yield from dataset.iter_batches(batch_size=None, batch_format="numpy")
    except MindError:
        raise
    except Exception as exc:
        raise MindError(f"the Ray pipeline failed: {type(exc).__name__}: {_cause(exc)}") from exc


def _cause(exc: BaseException) -> str:
    """The first line of a Ray error and, for one that carries a remote traceback, its last line:
    the exception the actor or task raised."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return ""
    first = lines[0].split(", \x1b[")[0].split(", ray::")[0]  # drop the actor's coloured repr
    return first if len(lines) == 1 or lines[-1] == lines[0] else f"{first} ... {lines[-1]}"
