"""`--engine ray` on a real local Ray with the tiny LLaVA: same counts as in-process, and a killed
driver's re-run leaves exactly one result per unit."""

from __future__ import annotations

import json
import signal
import time
from functools import partial

import psutil
import pytest
from ray.data import ActorPoolStrategy

from engine import raycluster
from generation.backends import TransformersBackend
from generation.ray_engine import RemoteModel, run_prompt_stage
from generation.requests import GenerateRequest, decodings, stage_options
from generation.runner import run_generate
from generation.stages import make_stage
from tests.conftest import reset_graph
from tests.support.generation import AnswerRows, build_tiny, rows, seed_catalog
from tests.support.processes import finish, kill_when, start_mind

RELS = ["UsedFor", "Can", "Open"]
STAGES = ["features", "intentions", "filter"]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny(tmp_path_factory.mktemp("tiny-llava-ray"))


def _request(tiny_dir, engine: str, **kw) -> GenerateRequest:
    base = dict(stages=STAGES, relations=RELS, model=str(tiny_dir), batch_size=4, device="cpu",
                max_new_tokens=4, seed=3, lease_seconds=60, engine=engine)
    base.update(kw)
    return GenerateRequest(**base)


def _graph(driver, db) -> dict:
    return rows(driver, db, "MATCH (p:Product) WITH count(p.features) AS featured "
                "OPTIONAL MATCH (i:Intention) RETURN featured, count(i) AS intentions, "
                "count(DISTINCT [i.asinA, i.asinB, i.relation]) AS units, "
                "sum(CASE WHEN i.status <> 'GENERATED' THEN 1 ELSE 0 END) AS filtered")[0]


def _seed(driver, db, folder):
    # Eight products, one without an image and one with a broken file; six pairs, one not ready.
    seed_catalog(driver, db, folder, n=8, pairs=[(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6)],
                 without_image=(6,), broken_image=(7,))


def test_ray_engine_ends_with_the_counts_of_the_in_process_engine(driver, settings, ray_cluster, tiny_dir,
                                                                   tmp_path):
    db = settings.neo4j_database
    reset_graph(driver, settings)
    _seed(driver, db, tmp_path / "a")
    backend = TransformersBackend.load(str(tiny_dir), device="cpu", batch_size=4)
    local = [r.summary() for r in run_generate(driver, settings, _request(tiny_dir, "in-process"), backend)]
    local_graph = _graph(driver, db)

    reset_graph(driver, settings)
    _seed(driver, db, tmp_path / "b")
    on_ray = settings.model_copy(update={"ray_actors": 2, "ray_partition_size": 3})
    remote = [r.summary() for r in run_generate(driver, on_ray, _request(tiny_dir, "ray"))]
    keys = ("stage", "done", "skipped", "failed", "skipped_reasons", "failed_reasons")
    assert [{k: s[k] for k in keys} for s in remote] == [{k: s[k] for k in keys} for s in local]
    assert [s["done"] for s in remote] == [6, 5 * len(RELS), 5 * len(RELS)]  # P006 no image, P007 broken
    assert remote[0]["skipped_reasons"] == {"image missing": 1, "image unreadable": 1}
    assert all(s["engine"] == "ray" and s["actors"] == 2 and s["partition"] == 3 for s in remote)
    assert _graph(driver, db) == local_graph == {"featured": 6, "intentions": 15, "units": 15, "filtered": 15}
    leases = rows(driver, db, "MATCH (p:Product) WHERE p.featuresLeaseOwner IS NOT NULL RETURN p.asin "
                  "UNION MATCH ()-[c:CO_BUY]->() WHERE c.intentLeaseOwner IS NOT NULL RETURN 'pair' AS `p.asin` "
                  "UNION MATCH (i:Intention) WHERE i.filterLeaseOwner IS NOT NULL RETURN i.id AS `p.asin`")
    assert leases == []


def test_driver_killed_mid_stage_then_rerun_leaves_one_result_per_unit(driver, settings, ray_cluster, tiny_dir,
                                                                        tmp_path):
    """The re-run is a Ray job and a plain `mind generate` worker at once: they share the database."""
    db = settings.neo4j_database
    reset_graph(driver, settings)
    seed_catalog(driver, db, tmp_path, n=6, pairs=[(0, 1), (2, 3), (4, 5), (1, 2)])
    # Features first, here (the killed job finds none to do, so it starts no actors for them).
    backend = TransformersBackend.load(str(tiny_dir), device="cpu", batch_size=4)
    assert run_generate(driver, settings, _request(tiny_dir, "in-process", stages=["features"]), backend)[0].done == 6
    rels = "UsedFor,Can,Open,IsA,Cause,MadeOf,PartOf,Effect,CapableOf,PropertyOf"
    units = 4 * 10
    args = ("generate", "--engine", "ray", "--ray-address", ray_cluster, "--actors", "2", "--stage", "all",
            "--relations", rels, "--batch-size", "2", "--max-new-tokens", "4", "--json")
    # A long lease: the re-run must free the killed driver's leases itself (its pid is gone), not wait.
    env = {"MIND_MODEL": str(tiny_dir), "MIND_DEVICE": "cpu", "MIND_GENERATION_LEASE_SECONDS": "600",
           "MIND_RAY_PARTITION_SIZE": "2"}
    proc = start_mind(*args, env=env, log=tmp_path / "killed.log")
    count = lambda: rows(driver, db, "MATCH (i:Intention) RETURN count(i) AS n")[0]["n"]  # noqa: E731
    assert kill_when(proc, lambda: count() >= 2, timeout=240), "the driver finished before it could be killed"
    before = _settled(count)  # its actors commit the batches in hand, then claim no more
    assert 2 <= before < units
    rerun = start_mind(*args, env=env, log=tmp_path / "rerun.log")
    deadline = time.monotonic() + 120  # the plain worker joins once the Ray job is committing
    while count() < before + 2 and rerun.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    plain = start_mind(*args[:1], *args[7:], env=env, log=tmp_path / "plain.log")  # the in-process engine
    done = [_done(finish(p, tmp_path / log, timeout=300)) for p, log in ((rerun, "rerun.log"), (plain, "plain.log"))]
    # No unit done twice: the two runs' results add up to exactly the work that was left.
    assert sum(d["intentions"] for d in done) == units - before
    assert sum(d["filter"] for d in done) == units
    stats = rows(driver, db, "MATCH (i:Intention) RETURN count(i) AS n, count(DISTINCT [i.asinA, i.asinB, "
                 "i.relation]) AS units, count(DISTINCT i.id) AS ids, "
                 "sum(CASE WHEN i.status = 'GENERATED' THEN 1 ELSE 0 END) AS open")[0]
    assert stats == {"n": units, "units": units, "ids": units, "open": 0}
    featured = rows(driver, db, "MATCH (p:Product) RETURN count(p.features) AS n")[0]["n"]
    assert featured == 6
    left = rows(driver, db, "MATCH ()-[c:CO_BUY]->() WHERE c.intentLeaseOwner IS NOT NULL RETURN count(c) AS n "
                "UNION ALL MATCH (i:Intention) WHERE i.filterLeaseOwner IS NOT NULL RETURN count(i) AS n")
    assert [r["n"] for r in left] == [0, 0]


def _settled(count, quiet: float = 3.0, timeout: float = 60.0) -> int:
    """`count()` once it has held for `quiet` seconds."""
    value, since, deadline = count(), time.monotonic(), time.monotonic() + timeout
    while time.monotonic() - since < quiet:
        assert time.monotonic() < deadline, "the killed driver's actors kept committing"
        time.sleep(0.2)
        now = count()
        if now != value:
            value, since = now, time.monotonic()
    return value


def _done(log: str) -> dict:
    """Units done per stage, from the --json summary on the last line of a `mind generate` log."""
    summary = json.loads([line for line in log.splitlines() if line.startswith("{")][-1])
    return {s["stage"]: s["done"] for s in summary["stages"]}


def test_prompt_pipeline_of_the_vllm_path_commits_each_claimed_batch(driver, settings, ray_cluster, tiny_dir,
                                                                     tmp_path):
    """`--backend vllm`'s pipeline (claims -> prompt rows -> processor -> commits in the driver) with the
    tiny model on the CPU standing in for ray.data.llm's processor, which needs vLLM and a GPU."""
    db = settings.neo4j_database
    reset_graph(driver, settings)
    _seed(driver, db, tmp_path)
    req = _request(tiny_dir, "ray")
    options = stage_options(settings, req)
    pool = raycluster.Pool(actors=1, gpus=0, cpus=1, partition=5)
    done = []
    for name, decoding in list(decodings(settings, req).items())[:2]:  # the filter's path is the features' one
        stage = make_stage(name, driver, db, RemoteModel(req.model), options)
        answer = partial(_answer_rows, model=req.model, decoding=decoding)
        done.append(run_prompt_stage(stage, pool, raycluster.worker_settings(settings), answer).summary())
    assert [s["done"] for s in done] == [6, 5 * len(RELS)]
    assert done[0]["skipped_reasons"] == {"image missing": 1, "image unreadable": 1}
    assert _graph(driver, db) == {"featured": 6, "intentions": 15, "units": 15, "filtered": 0}


def _answer_rows(ds, model: str, decoding):
    return ds.map_batches(AnswerRows, fn_constructor_kwargs={"model": model, "decoding": decoding},
                          compute=ActorPoolStrategy(size=1), num_cpus=1, batch_size=4, batch_format="numpy")


def test_actor_killed_mid_stage_loses_no_unit(driver, settings, ray_cluster, tiny_dir, tmp_path):
    """SIGKILL one model actor while it works: Ray starts another and retries its partition, which takes
    back its own leases; the job ends with exactly one result per unit."""
    db = settings.neo4j_database
    reset_graph(driver, settings)
    seed_catalog(driver, db, tmp_path, n=6, pairs=[(0, 1), (2, 3), (4, 5), (1, 2)])
    backend = TransformersBackend.load(str(tiny_dir), device="cpu", batch_size=4)
    run_generate(driver, settings, _request(tiny_dir, "in-process", stages=["features"]), backend)
    units = 4 * 10
    proc = start_mind("generate", "--engine", "ray", "--ray-address", ray_cluster, "--actors", "2", "--stage",
                      "intentions", "--relations", "UsedFor,Can,Open,IsA,Cause,MadeOf,PartOf,Effect,CapableOf,PropertyOf",
                      "--batch-size", "2", "--max-new-tokens", "4", "--json",
                      env={"MIND_MODEL": str(tiny_dir), "MIND_DEVICE": "cpu", "MIND_RAY_PARTITION_SIZE": "4"},
                      log=tmp_path / "run.log")
    count = lambda: rows(driver, db, "MATCH (i:Intention) RETURN count(i) AS n")[0]["n"]  # noqa: E731
    deadline = time.monotonic() + 240
    while count() < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    actors = [p for p in psutil.process_iter(["cmdline"])
              if (p.info["cmdline"] or [""])[0].startswith("ray::MapWorker(MapBatches(StageActor))")]
    assert actors and proc.poll() is None, "no model actor to kill: the job finished first"
    actors[0].send_signal(signal.SIGKILL)
    # The job still succeeds; `done` misses whatever the killed actor had committed before it died.
    assert _done_stage(finish(proc, tmp_path / "run.log", timeout=300)) <= units
    stats = rows(driver, db, "MATCH (i:Intention) RETURN count(i) AS n, count(DISTINCT i.id) AS ids")[0]
    assert stats == {"n": units, "ids": units}
    left = rows(driver, db, "MATCH ()-[c:CO_BUY]->() WHERE c.intentLeaseOwner IS NOT NULL RETURN count(c) AS n")
    assert left[0]["n"] == 0


def _done_stage(log: str) -> int:
    return json.loads([line for line in log.splitlines() if line.startswith("{")][-1])["done"]
