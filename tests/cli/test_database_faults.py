"""Database faults: a Neo4j of the test's own (other ports, temporary home) is stopped during a
generation run and started again. The worker waits with back-off and finishes; the API answers 503
and GraphQL errors in bounded time while the database is down, and recovers by itself.
"""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from embedding.models import embedding_dimensions
from graph.driver import Patient, make_driver, read
from graph.maintenance import delete_everything, label_counts, work_state
from graph.schema import apply_schema
from mindkb.errors import MindError
from tests.support.cli import run_cli
from tests.support.generation import build_tiny, seed_catalog
from tests.support.processes import finish, start_mind
from tests.support.server import free_ports, spare_server

PAIRS = [(0, 1), (2, 3), (4, 5), (6, 7), (1, 2)]
RELATIONS = "UsedFor,Can,IsA,Cause,MadeOf,Open"
PRODUCT_QUERY = '{ product(asin: "P001") { asin title } }'


@pytest.fixture(scope="module")
def spare(tmp_path_factory, monkeypatch_module):
    """A second local Neo4j that this module may stop and start; the shared test server is never touched."""
    monkeypatch_module.delenv("NEO4J_PASSWORD", raising=False)
    monkeypatch_module.delenv("NEO4J_URI", raising=False)
    with spare_server(tmp_path_factory.mktemp("spare-neo4j")) as spare_env:
        yield spare_env


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def _timed_get(client: TestClient, path: str) -> tuple[float, object]:
    t0 = time.monotonic()
    response = client.get(path)
    return time.monotonic() - t0, response


def _timed_query(client: TestClient, query: str) -> tuple[float, object]:
    t0 = time.monotonic()
    response = client.post("/graphql", json={"query": query})
    return time.monotonic() - t0, response


def test_generation_waits_for_a_restarted_database_and_the_api_recovers(spare, tmp_path):
    settings, local, env = spare
    db = settings.neo4j_database
    password = settings.password()
    tiny = build_tiny(tmp_path / "tiny")
    with make_driver(settings) as driver:
        delete_everything(driver, db)
        apply_schema(driver, db, embedding_dimensions(settings.embedding_model))
        seed_catalog(driver, db, tmp_path / "images", n=8, pairs=PAIRS)

    api_settings = settings.model_copy(update={"api_db_timeout": 4.0, "neo4j_tx_retry_seconds": 1.0})
    with TestClient(create_app(api_settings)) as client:
        assert client.get("/healthz").status_code == 200

        run_env = {**env, "MIND_MODEL": str(tiny), "MIND_DEVICE": "cpu", "MIND_NEO4J_TX_RETRY_SECONDS": "1",
                   "MIND_DB_WAIT_SECONDS": "240", "MIND_GENERATION_LEASE_SECONDS": "3600"}
        log = tmp_path / "generate.log"
        proc = start_mind("generate", "--stage", "all", "--relations", RELATIONS, "--batch-size", "2",
                          "--max-new-tokens", "4", "--json", env=run_env, log=log)
        with make_driver(settings) as driver:
            deadline = time.monotonic() + 240
            while read(driver, db, work_state)["featured"] < 1:
                assert proc.poll() is None, log.read_text()[-2000:]
                assert time.monotonic() < deadline, "no progress before the stop"
                time.sleep(0.05)
        local.stop()
        assert proc.poll() is None, "the run ended before the database was stopped"

        # While the database is down: the worker says what it waits for; the API fails fast.
        deadline = time.monotonic() + 120
        while "waiting for Neo4j" not in log.read_text(errors="replace"):
            assert proc.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "the worker never said it was waiting"
            time.sleep(0.2)
        took, health = _timed_get(client, "/healthz")
        assert health.status_code == 503 and took < 10
        took, answer = _timed_query(client, PRODUCT_QUERY)
        assert answer.status_code == 200 and took < 15
        assert answer.json()["errors"][0]["message"].startswith("the database is")
        assert "Traceback" not in answer.text and password not in answer.text
        status = run_cli("db", "status", "--json", env=env)
        assert status.summary["running"] is False
        assert password not in status.stdout + status.stderr

        local.start()
        output = finish(proc, log, timeout=300)
        assert password not in output
        summary = json.loads(output.strip().splitlines()[-1])
        assert [s["failed"] for s in summary["stages"]] == [0, 0, 0]

        # The API comes back without a restart.
        deadline = time.monotonic() + 60
        while client.get("/healthz").status_code != 200:
            assert time.monotonic() < deadline, "the API did not recover"
            time.sleep(0.5)
        body = client.post("/graphql", json={"query": PRODUCT_QUERY}).json()
        assert not body.get("errors") and body["data"]["product"]["asin"] == "P001"

    with make_driver(settings) as driver:
        state, labels = read(driver, db, work_state), read(driver, db, label_counts)
    assert labels["Intention"] == len(PAIRS) * len(RELATIONS.split(","))
    assert state["generated"] == 0 and state["featured"] == 8
    assert state["featureLeases"] == state["pairLeases"] == state["filterLeases"] == 0


def test_worker_gives_up_after_the_wait_with_one_line(settings, capsys):
    """A database that never comes back: back-off messages, then one MindError without the password."""
    port = free_ports(1)[0]
    down = settings.model_copy(update={"neo4j_uri": f"bolt://127.0.0.1:{port}", "neo4j_connect_timeout": 1.0,
                                       "neo4j_tx_retry_seconds": 0.5})
    with make_driver(down) as driver:
        patient = Patient(driver, down.neo4j_database, down.neo4j_uri, wait_seconds=3)
        t0 = time.monotonic()
        with pytest.raises(MindError) as failure:
            patient.read(label_counts)
        assert time.monotonic() - t0 < 20
    message = str(failure.value)
    assert "stayed unreachable for 3s" in message and "\n" not in message
    err = capsys.readouterr().err
    assert err.count("waiting for Neo4j") >= 2
    assert settings.password() not in message + err
