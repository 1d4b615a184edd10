"""The write key: no open writes by configuration mistake, guessing limited per client, one audit line per write.

Faults these hold shut: `MIND_API_KEY=""` (the key `SecretStr('')`, and `compare_digest(b"", b"")`
is true) let a `setIntentionStatus` without any key through; wrong keys could be tried as fast as
the server answered, each logging a traceback; a write left no trace of who made it, and
`curatedBy` was whatever `X-Curator` said.
"""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError

from api.app import create_app
from api.keys import KeyCheck, key_id
from mindkb.errors import BadInput
from mindkb.settings import Settings
from tests.support.api_graph import build_embedded_graph

KEY = "keys-test-key-5c1d0e9a7b"
MUTATION = "mutation($id: ID!) { setIntentionStatus(id: $id, status: ACCEPTED, note: \"n\") { status curatedBy } }"
TARGET = "they are both used for keeping a smartphone charged during the day"


@pytest.fixture(scope="module")
def kb(driver, settings):
    return build_embedded_graph(driver, settings)


def errors(response) -> list[str]:
    assert response.status_code == 200 and "Traceback" not in response.text, response.text
    return [e["message"] for e in response.json().get("errors") or []]


def status_of(driver, settings, intention_id: str) -> str:
    records, _, _ = driver.execute_query("MATCH (i:Intention {id: $id}) RETURN i.status AS s", id=intention_id,
                                         database_=settings.neo4j_database)
    return records[0]["s"]


# --- configuration ----------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["", "short-key", " " * 3])
def test_an_empty_or_short_key_is_a_configuration_error(value, monkeypatch):
    monkeypatch.setenv("MIND_API_KEY", value)
    with pytest.raises(ValidationError):
        Settings()


def test_an_empty_key_never_reaches_a_running_app(settings):
    """A copy with an empty key (model_copy skips validation) is refused when the app is built."""
    for bad in ("", "x" * 15):
        with pytest.raises(BadInput, match="MIND_API_KEY: must be at least 16 characters") as refused:
            create_app(settings.model_copy(update={"api_key": SecretStr(bad)}))
        assert "\n" not in str(refused.value)


def test_mind_serve_refuses_an_empty_key_in_one_line(cli):
    result = cli("serve", "--port", "1", env={"MIND_API_KEY": ""}, timeout=120)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == ["mind: invalid setting MIND_API_KEY: must be at least 16 characters"], result.stderr


def test_without_a_key_writes_are_refused_and_nothing_changes(kb, settings, driver):
    target = kb[TARGET]
    before = status_of(driver, settings, target)
    with TestClient(create_app(settings.model_copy(update={"api_key": None}))) as client:
        for headers in ({}, {"X-API-Key": ""}, {"Authorization": "Bearer "}):
            response = client.post("/graphql", json={"query": MUTATION, "variables": {"id": target}}, headers=headers)
            assert any("writes are disabled" in m for m in errors(response))
    assert status_of(driver, settings, target) == before


# --- guessing -----------------------------------------------------------------------------------------
def test_a_wrong_key_burst_is_limited_and_logged_once(kb, settings, driver, caplog):
    target = kb[TARGET]
    before = status_of(driver, settings, target)
    app_settings = settings.model_copy(update={"api_key": SecretStr(KEY), "api_key_failures_per_minute": 5})
    caplog.set_level(logging.INFO)
    with TestClient(create_app(app_settings)) as client:
        def attempt(key: str) -> list[str]:
            return errors(client.post("/graphql", json={"query": MUTATION, "variables": {"id": target}},
                                      headers={"X-API-Key": key}))

        answers = [attempt(f"guess-{n:04d}-of-the-key") for n in range(12)]
        assert all("missing or wrong API key" in a[0] for a in answers[:5]), answers[:5]
        assert all("too many failed API key attempts" in a[0] for a in answers[5:]), answers[5:]
        # While the client is limited the key is not even compared: the right one is refused too.
        assert "too many failed API key attempts" in attempt(KEY)[0]
    assert status_of(driver, settings, target) == before
    burst = [r for r in caplog.records if r.name == "api.keys"]
    assert len(burst) == 1 and "testclient" in burst[0].getMessage(), [r.getMessage() for r in burst]
    assert not any(r.exc_info for r in caplog.records)
    assert not any("API key" in r.getMessage() for r in caplog.records if r.name == "strawberry.execution")
    assert all(KEY not in r.getMessage() and "guess-" not in r.getMessage() for r in caplog.records)


def test_failure_buckets_are_per_client_refill_and_log_per_burst(caplog):
    now = [1000.0]
    check = KeyCheck(SecretStr(KEY), failures_per_minute=3, clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="api.keys")

    def outcome(client: str, key: str) -> str:
        try:
            return check.authorise({"x-api-key": key}, client)
        except Exception as exc:  # KeyRefused
            return str(exc).split(" (")[0].split(";")[0]

    assert [outcome("10.0.0.1", "nope") for _ in range(4)] == ["missing or wrong API key"] * 3 + [
        "too many failed API key attempts from this address"]
    assert outcome("10.0.0.2", "nope") == "missing or wrong API key"  # another address has its own budget
    assert outcome("10.0.0.2", KEY) == check.key_id
    now[0] += 21  # a third of a minute gives one attempt back
    assert outcome("10.0.0.1", KEY) == check.key_id
    assert outcome("10.0.0.1", "nope") == "missing or wrong API key"
    assert outcome("10.0.0.1", "nope") == "too many failed API key attempts from this address"
    assert len(caplog.records) == 2  # one line per burst: 10.0.0.1's, 10.0.0.2's
    now[0] += 61  # quiet for a minute: a new burst, logged again
    outcome("10.0.0.1", "nope")
    assert len(caplog.records) == 3 and all("10.0.0" in r.getMessage() for r in caplog.records)


def test_many_addresses_keep_the_table_bounded():
    check = KeyCheck(SecretStr(KEY), failures_per_minute=3, max_clients=100)
    for n in range(1000):
        with pytest.raises(Exception, match="missing or wrong"):
            check.authorise({}, f"10.1.{n // 256}.{n % 256}")
    assert len(check._buckets) == 100


# --- who wrote --------------------------------------------------------------------------------------
def test_each_write_logs_one_audit_line_and_curated_by_names_the_key(kb, settings, driver, caplog):
    target = kb[TARGET]
    before = status_of(driver, settings, target)
    kid = key_id(KEY)
    caplog.set_level(logging.INFO)
    with TestClient(create_app(settings.model_copy(update={"api_key": SecretStr(KEY)}))) as client:
        def write(curator: str | None) -> str:
            headers = {"X-API-Key": KEY, **({"X-Curator": curator.encode()} if curator is not None else {})}
            response = client.post("/graphql", json={"query": MUTATION, "variables": {"id": target}}, headers=headers)
            assert not errors(response)
            return response.json()["data"]["setIntentionStatus"]["curatedBy"]

        assert write("alice.smith@example.org") == f"alice.smith@example.org (key {kid})"
        assert write(None) == f"key {kid}"
        # A claim that is not a plain short name is not recorded; the key id still is.
        for claim in ("x" * 65, "bob\r\nINFO forged log line", "<script>", "évé"):
            assert write(claim) == f"key {kid}"
    audits = [r.getMessage() for r in caplog.records if r.name == "api.audit"]
    assert len(audits) == 6, audits
    assert all(f"key={kid}" in a and "client=testclient" in a and "mutation=setIntentionStatus" in a
               and f"id={target}" in a and "status=ACCEPTED" in a for a in audits)
    assert all("\n" not in a and "\r" not in a and KEY not in a for a in audits)
    driver.execute_query("MATCH (i:Intention {id: $id}) SET i.status = $s REMOVE i.curatedBy, i.curatedAt, "
                         "i.curatorNote", id=target, s=before, database_=settings.neo4j_database)
