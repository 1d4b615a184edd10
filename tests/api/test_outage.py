"""Quick failures with the database down: a Neo4j of the test's own is stopped under a running API.

Faults these hold shut: with Neo4j stopped, a query took 14.6 s to fail (the driver's 10 s of
retries with back-off) and `/healthz` 5 s; `mind serve` against a stopped database ended its
message with the driver's dangling colon ("...resolved to ('127.0.0.1:17687',)):").
Like tests/cli/test_database_faults.py, the shared test server is never stopped.
"""

from __future__ import annotations

import json
import logging
import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.support.cli import run_cli
from tests.support.server import free_ports, spare_server

PRODUCT = '{ product(asin: "P001") { asin } }'


@pytest.fixture(scope="module")
def spare(tmp_path_factory):
    """A second local Neo4j that this module stops; the shared test server is never touched."""
    with spare_server(tmp_path_factory.mktemp("outage-neo4j"), uri=True) as spare_env:
        yield spare_env


def _timed(call):
    t0 = time.monotonic()
    response = call()
    return time.monotonic() - t0, response


def test_a_stopped_database_fails_requests_within_2_s_and_health_within_1_s(spare, caplog):
    settings, local, env = spare
    # No health TTL: each poll asks the database (with a TTL a poll may repeat the last answer that long).
    api = settings.model_copy(update={"api_health_ttl": 0.0})
    with TestClient(create_app(api)) as client:
        assert client.get("/healthz").status_code == 200
        up = client.post("/graphql", json={"query": PRODUCT}).json()
        assert "unknown product" in up["errors"][0]["message"]  # the database answered

        local.stop()
        caplog.set_level(logging.INFO)
        seconds = []
        for _ in range(2):  # the first call meets the pool's dead connections, the next a refused connect
            took, health = _timed(lambda: client.get("/healthz"))
            assert health.status_code == 503 and health.json()["status"] == "unavailable" and took < 1.0, took
            seconds.append({"healthz": round(took, 3)})
            took, answer = _timed(lambda: client.post("/graphql", json={"query": PRODUCT}))
            assert answer.status_code == 200 and took < 2.0, took
            seconds[-1]["query"] = round(took, 3)
            assert answer.json()["errors"][0]["message"] == "the database is unavailable; try again shortly"
            assert "Traceback" not in answer.text and settings.password() not in answer.text
    print(json.dumps({"seconds_to_fail": seconds}))
    failures = [r for r in caplog.records if r.name == "strawberry.execution"]
    assert len(failures) == 2 and all(r.exc_info is None and "unavailable" in r.getMessage() for r in failures)
    assert "Traceback" not in caplog.text and "will be retried" not in caplog.text  # the driver's notices


def test_mind_serve_against_a_stopped_database_says_why_in_one_sentence(spare):
    settings, local, env = spare
    local.stop()
    result = run_cli("serve", "--port", str(free_ports(1)[0]), env=env, timeout=120)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    line = lines[0]
    assert line.startswith(f"mind: cannot reach Neo4j at {settings.neo4j_uri} (start it with `mind db start`): ")
    assert "connection refused" in line and not line.rstrip().endswith(":"), line
    assert "resolved to" not in line
