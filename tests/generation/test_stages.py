"""The three stages against the real Neo4j with the tiny LLaVA: selection, resume, skips, leases."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from generation.backends import Decoding, TransformersBackend
from generation.prompts import PROMPT_VERSION
from generation.stage import Span, StageOptions, StageResult
from generation.stages import STAGES, run_stage
from generation.stages.features import FeatureStage
from generation.stages.intentions import IntentionStage
from graph import generation as q
from graph.driver import write
from mindkb.ids import intention_id
from mindkb.normalize import normalize_intention
from mindkb.relations import BY_NAME
from tests.support.generation import build_tiny, leases_expired, rows, seed_catalog, wait_until

RELS = ["UsedFor", "Can", "Open"]


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    folder = build_tiny(tmp_path_factory.mktemp("tiny-llava"))
    return TransformersBackend.load(str(folder), device="cpu", batch_size=4)


def options(**kw) -> StageOptions:
    dec = {s: Decoding(max_new_tokens=6, seed=3) for s in STAGES}
    base = dict(relations=RELS, batch_size=4, lease_seconds=60, decoding=dec)
    base.update(kw)
    return StageOptions(**base)


def test_stages_select_resume_and_skip(empty_graph, settings, backend, tmp_path):
    db = settings.neo4j_database
    seed_catalog(empty_graph, db, tmp_path, n=5, pairs=[(0, 1), (1, 2), (2, 3)], without_image=(3,),
                 broken_image=(4,))
    stage = lambda name, **kw: run_stage(empty_graph, db, backend, options(**kw), name)  # noqa: E731

    first = stage("features", limit=1)
    assert first.done == 1
    rest = stage("features")
    assert rest.done == 2
    assert rest.skipped_reasons["image missing"] == 1 and rest.skipped_reasons["image unreadable"] == 1
    assert stage("features").done == 0
    featured = rows(empty_graph, db, "MATCH (p:Product) WHERE p.features IS NOT NULL RETURN p ORDER BY p.asin")
    assert [r["p"]["asin"] for r in featured] == ["P000", "P001", "P002"]
    p = featured[0]["p"]
    assert p["featuresModel"] == backend.model_id and p["featuresPromptVersion"] == PROMPT_VERSION
    assert p["featuresSeed"] == 3 and '"temperature": 0.2' in p["featuresDecoding"] and p["featuresAt"]
    assert p["featuresNoise"] is True  # the tiny checkpoint is marked as random: its text is noise
    assert not any(k.startswith("featuresLease") for k in p)

    part = stage("intentions", limit=2)
    assert part.done == 2
    assert part.skipped_reasons["product without features"] == len(RELS)  # pair (P002, P003)
    rest = stage("intentions")
    assert rest.done == 2 * len(RELS) - 2
    assert stage("intentions").done == 0
    got = rows(empty_graph, db, "MATCH (i:Intention)-[:EXPLAINS]->(p:Product) "
               "WITH i, count(p) AS ends MATCH (i)-[:HAS_RELATION]->(r:Relation) "
               "RETURN i, labels(i) AS labels, ends, r.name AS rel")
    assert len(got) == 2 * len(RELS)
    for r in got:
        i = r["i"]
        assert r["ends"] == 2 and r["rel"] == i["relation"] and i["relation"] in r["labels"]
        assert i["id"] == intention_id(i["asinA"], i["asinB"], i["relation"], backend.model_id, PROMPT_VERSION)
        assert i["text"] and i["text"] == normalize_intention(i["rawText"], BY_NAME[i["relation"]].template).text
        assert i["status"] == "GENERATED" and i["source"] == "mind" and "rawText" in i
        assert i["asinA"] < i["asinB"] and i["seed"] == 3 and i["promptVersion"] == PROMPT_VERSION
        assert i["noise"] is True  # left out of search, recommend and stats unless asked for

    only_can = stage("filter", relations=["Can"])
    assert only_can.done == 2
    assert stage("filter").done == 2 * len(RELS) - 2
    assert stage("filter").done == 0
    verdicts = rows(empty_graph, db, "MATCH (i:Intention) RETURN i.status AS s, i.filterRaw AS raw, "
                    "i.filterModel AS m, i.filterPromptVersion AS v, i.filteredAt AS t, i.rationale AS why")
    assert all(v["s"] in ("ACCEPTED", "REJECTED", "UNDECIDED") for v in verdicts)
    assert all(v["raw"] is not None and v["m"] == backend.model_id and v["v"] == PROMPT_VERSION and v["t"]
               for v in verdicts)


def test_text_only_uses_products_without_images(empty_graph, settings, backend, tmp_path):
    db = settings.neo4j_database
    seed_catalog(empty_graph, db, tmp_path, n=2, pairs=[(0, 1)], without_image=(1,))
    assert run_stage(empty_graph, db, backend, options(), "features").done == 1
    result = run_stage(empty_graph, db, backend, options(text_only=True), "features")
    assert result.done == 1 and result.skipped == 0
    assert run_stage(empty_graph, db, backend, options(text_only=True, relations=["Can"]), "intentions").done == 1


def test_units_of_a_dead_worker_are_taken_over_after_expiry(empty_graph, settings, backend, tmp_path):
    db = settings.neo4j_database
    seed_catalog(empty_graph, db, tmp_path, n=3, pairs=[])
    seen, claimed = write(empty_graph, db, q.claim_feature_batch, q.Scope(backend.model_id, PROMPT_VERSION),
                          "dead-worker", [], 10, 1500)
    assert seen == 3 and len(claimed) == 3
    early = run_stage(empty_graph, db, backend, options(), "features")
    assert early.done == 0                       # leased by the dead worker: not touched
    wait_until(lambda: leases_expired(empty_graph, db), "the dead worker's leases expire", timeout=30)
    late = run_stage(empty_graph, db, backend, options(), "features")
    assert late.done == 3                        # expired: taken over
    # The dead worker comes back to life: its late write is refused, nothing is overwritten.
    assert write(empty_graph, db, q.write_features, [{"asin": "P000", "features": "stale", "raw": "stale"}],
                 "dead-worker", {"model": "m", "promptVersion": "v", "seed": 0, "decoding": "{}"}) == []
    assert rows(empty_graph, db, "MATCH (p:Product {asin: 'P000'}) RETURN p.features AS f")[0]["f"] != "stale"


def test_a_loop_whose_lease_owner_has_ended_claims_nothing(empty_graph, settings, backend, tmp_path):
    """A Ray actor of a killed driver runs the loop under the driver's owner: it stops claiming."""
    db = settings.neo4j_database
    seed_catalog(empty_graph, db, tmp_path, n=3, pairs=[])
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    orphan = FeatureStage(empty_graph, db, backend, options(owner=f"{socket.gethostname()}:{ended.pid}:0000dead"))
    result = StageResult("features")
    orphan.loop(result, Span("", None))
    assert result.done == 0
    assert rows(empty_graph, db, "MATCH (p:Product) WHERE p.featuresLeaseOwner IS NOT NULL OR p.features "
                "IS NOT NULL RETURN count(p) AS n")[0]["n"] == 0
    # The same loop under a live owner (this process) does the work.
    live = FeatureStage(empty_graph, db, backend, options(owner=f"{socket.gethostname()}:{os.getpid()}:0000live"))
    result = StageResult("features")
    live.loop(result, Span("", None))
    assert result.done == 3


def test_partitions_cover_the_work_and_keep_the_limit(empty_graph, settings, backend, tmp_path):
    """What the Ray engine hands its actors: key ranges whose loops do all the work, or exactly --limit."""
    db = settings.neo4j_database
    seed_catalog(empty_graph, db, tmp_path, n=5, pairs=[(0, 1), (0, 2), (1, 2), (3, 4)])
    features = FeatureStage(empty_graph, db, backend, options())
    assert features.spans(2, 3) == [Span("", "P001", 2), Span("P001", "P002", 1)]
    spans = features.spans(2, None)
    assert spans == [Span("", "P001"), Span("P001", "P003"), Span("P003", None)]
    done = []
    for span in spans:
        result = StageResult("features")
        features.loop(result, span)
        done.append(result.done)
    assert done == [2, 2, 1]

    # Intentions are cut by the pair's first asin; a budget stops inside a pair (P000 has two pairs).
    limited = IntentionStage(empty_graph, db, backend, options(limit=4))
    assert limited.spans(3, 4) == [Span("", "P000", 4)]
    result = StageResult("intentions")
    limited.loop(result, Span("", "P000", 4))
    assert result.done == 4
    rest = IntentionStage(empty_graph, db, backend, options())
    spans = rest.spans(3, None)
    assert spans == [Span("", "P001"), Span("P001", None)]  # P000's 2 missing + (P001, P002)'s 3, then 3
    done = []
    for span in spans:
        result = StageResult("intentions")
        rest.loop(result, span)
        done.append(result.done)
    assert done == [5, 3]
    assert rows(empty_graph, db, "MATCH (i:Intention) RETURN count(i) AS n")[0]["n"] == 4 * len(RELS)
