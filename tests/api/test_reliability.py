"""Hostile input, load and secrets against a real `mind serve` process on 127.0.0.1.

- schemathesis fuzzes every root field of the GraphQL schema: no 5xx, no stack trace;
- explicit abuse: huge strings, deep and wide documents, alias bombs, batched operations;
- Cypher metacharacters in every text argument are inert (the graph is unchanged);
- the curator mutation without or with a wrong key changes nothing; the key is never logged;
- a short load run (the benchmark's own code) has no errors and a bounded RSS growth.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from benchmarks.load import rss_mb, run_load
from benchmarks.query import free_port, wait_healthy
from graph.driver import read
from graph.maintenance import label_counts, node_keys, relationship_counts
from tests.support.api_graph import PRODUCTS, build_embedded_graph
from tests.support.paths import REPO

KEY = "reliability-key-7f3a9c1e5b"
INJECTIONS = [
    "'}) MATCH (n) DETACH DELETE n //",
    '"}) MATCH (n) DETACH DELETE n RETURN 1 //',
    "B0TENT0001' OR 1=1 //",
    "x` MATCH (n) DETACH DELETE n //",
    "$asin }) CALL apoc.do.when(true, 'MATCH (n) DETACH DELETE n') YIELD value RETURN value //",
    "\\u0027}) MATCH (n) SET n.pwned = true //",
    "/* */ MATCH (n) DETACH DELETE n",
]


@pytest.fixture(scope="module")
def kb(driver, settings):
    return build_embedded_graph(driver, settings)


@pytest.fixture(scope="module")
def server(kb, tmp_path_factory):
    """`mind serve` with an API key; everything it prints goes to a log file the tests read."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with open(log, "wb") as handle:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=REPO,
            # The fuzzing sends hundreds of wrong keys from one address: the failure limit (tested on its
            # own in test_keys.py) would refuse the right key after it. INFO: user errors and the audit
            # of each write are logged, so a test can see that its request was.
            env={**os.environ, "MIND_API_KEY": KEY, "MIND_API_KEY_FAILURES_PER_MINUTE": "10000",
                 "MIND_LOG_LEVEL": "INFO"},
            stdout=handle, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        yield {"base": base, "proc": proc, "log": log}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def http(server):
    with httpx.Client(base_url=server["base"], timeout=60) as client:
        yield client


def fingerprint(driver, settings) -> dict:
    db = settings.neo4j_database
    return {"labels": read(driver, db, label_counts), "relationships": read(driver, db, relationship_counts),
            **read(driver, db, node_keys)}


def post(http: httpx.Client, payload, headers: dict | None = None) -> httpx.Response:
    response = http.post("/graphql", json=payload, headers=headers or {})
    assert response.status_code < 500, response.text[:500]
    assert "Traceback" not in response.text and 'File "' not in response.text
    return response


def wait_for_line(path: Path, needle: str, timeout: float = 30.0) -> str:
    """The log's text once a line holds `needle` (the condition a test waits on, never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text(errors="replace")
        if needle in text:
            return text
        assert time.monotonic() < deadline, f"{needle!r} never reached {path}"
        time.sleep(0.05)


def errors_of(response: httpx.Response) -> list[dict]:
    body = response.json()
    return body.get("errors") or [] if isinstance(body, dict) else []


# --- fuzzing ----------------------------------------------------------------------------------
@pytest.fixture
def graphql_schema(server):
    return schemathesis.graphql.from_url(f"{server['base']}/graphql")


fuzzed = schemathesis.pytest.from_fixture("graphql_schema")


@fuzzed.parametrize()
@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzzed_operations_never_fail_the_server(case):
    response = case.call(headers={"X-API-Key": "not-the-key"})
    assert response.status_code < 500, response.text[:500]
    assert "Traceback" not in response.text and 'File "' not in response.text


# --- explicit abuse -----------------------------------------------------------------------------
def test_huge_strings_are_refused_quickly(http):
    for query, variables in [
        ("query($t: String!) { searchIntentions(text: $t) { score } }", {"t": "camping " * 200_000}),
        ("query($t: String!) { recommend(intention: $t) { score } }", {"t": "x" * 1_000_001}),
        ("query($a: ID!) { product(asin: $a) { asin } }", {"a": "B" * 100_000}),
        ("query($a: ID!) { pairIntentions(asinA: $a, asinB: $a) { id } }", {"a": "\u2603" * 50_000}),
    ]:
        t0 = time.monotonic()
        response = post(http, {"query": query, "variables": variables})
        assert errors_of(response) and time.monotonic() - t0 < 30
    inline = '{ searchIntentions(text: "' + "y" * 2_000_000 + '") { score } }'
    too_big = post(http, {"query": inline})
    assert too_big.status_code == 413 and "larger than" in errors_of(too_big)[0]["message"]


def test_deep_wide_alias_and_fragment_abuse(http):
    deep = '{ product(asin: "B0TENT0001") ' + "{ coBought { nodes " * 40 + "{ asin }" + " } }" * 40 + " }"
    assert "depth" in errors_of(post(http, {"query": deep}))[0]["message"]
    wide = "{ " + " ".join("__typename" for _ in range(50_000)) + " }"
    assert errors_of(post(http, {"query": wide}))
    bomb = "{ " + " ".join(f'a{n}: searchIntentions(text: "tent") {{ score }}' for n in range(100)) + " }"
    assert "aliases" in errors_of(post(http, {"query": bomb}))[0]["message"]
    cycle = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
    assert errors_of(post(http, {"query": cycle}))
    nested_lists = "{ relations " + "{ name " * 2000 + "}" * 2001
    assert errors_of(post(http, {"query": nested_lists}))


def test_batched_operations_are_refused_or_bounded(http):
    one = {"query": "{ relations { name } }"}
    for batch in ([one, one], [one] * 1000, []):
        response = http.post("/graphql", json=batch)
        assert response.status_code < 500 and "Traceback" not in response.text
        # Batching is not enabled: one refusal, never one answer per operation.
        assert response.status_code == 400 and "batched" in errors_of(response)[0]["message"]
    for garbage in (b"{", b"null", b'"query"', b"[[[[[[[[[[" * 1000, b"\xff\xfe\x00"):
        response = http.post("/graphql", content=garbage, headers={"Content-Type": "application/json"})
        assert response.status_code == 400 and errors_of(response), response.text


def test_cypher_injection_in_every_text_argument_is_inert(http, driver, settings, kb):
    before = fingerprint(driver, settings)
    target = kb["they are both used for camping outdoors overnight in the wilderness"]
    for bad in INJECTIONS:
        v = {"s": bad, "n": bad}
        cases = [
            ("query($s: ID!) { product(asin: $s) { asin } }", "unknown product|1 to 64"),
            ('query($s: ID!) { pairIntentions(asinA: $s, asinB: "B0TENT0001") { id } }', "unknown product|1 to 64"),
            ('query($s: ID!) { pairIntentions(asinA: "B0TENT0001", asinB: $s) { id } }', "unknown product|1 to 64"),
            ("query($s: String!) { searchIntentions(text: $s, k: 3) { score } }", None),
            ("query($s: String!) { recommend(intention: $s, k: 3) { score } }", None),
            ('query($s: ID!) { recommend(intention: "tent", contextAsin: $s) { score } }', "unknown product|1 to 64"),
            ("query($s: ID!) { recommend(intention: \"tent\", candidates: [$s]) { score } }",
             None if len(bad) <= 64 else "1 to 64"),
            ('query($s: String) { product(asin: "B0TENT0001") { coBought(after: $s) { nodes { asin } } } }',
             "invalid cursor"),
            ('query($s: String) { product(asin: "B0TENT0001") { intentions(after: $s) { nodes { id } } } }',
             "invalid cursor"),
            ("mutation($s: ID!, $n: String) { setIntentionStatus(id: $s, status: ACCEPTED, note: $n) { id } }",
             "unknown intention"),
        ]
        for query, expected in cases:
            headers = {"X-API-Key": KEY, "X-Curator": bad} if query.startswith("mutation") else {}
            response = post(http, {"query": query, "variables": v}, headers)
            if expected:
                message = errors_of(response)[0]["message"]
                assert any(e in message for e in expected.split("|")), response.text
            else:
                assert not errors_of(response), response.text
        # A cursor that decodes to the injection is only a key to compare with.
        import base64

        cursor = base64.urlsafe_b64encode(f"k:{bad}".encode()).decode()
        q = 'query($c: String) { product(asin: "B0TENT0001") { coBought(after: $c) { nodes { asin } } } }'
        assert not errors_of(post(http, {"query": q, "variables": {"c": cursor}}))
    assert fingerprint(driver, settings) == before
    # With the key, the note is stored as the literal text it is.
    mutation = "mutation($id: ID!, $n: String) { setIntentionStatus(id: $id, status: ACCEPTED, note: $n) { curatorNote } }"
    response = post(http, {"query": mutation, "variables": {"id": target, "n": INJECTIONS[0]}}, {"X-API-Key": KEY})
    assert response.json()["data"]["setIntentionStatus"]["curatorNote"] == INJECTIONS[0]
    assert fingerprint(driver, settings) == before


# --- security -------------------------------------------------------------------------------------
MUTATION = "mutation($id: ID!) { setIntentionStatus(id: $id, status: ACCEPTED, note: \"x\") { status } }"


def _intention(driver, settings, intention_id: str) -> dict:
    records, _, _ = driver.execute_query("MATCH (i:Intention {id: $id}) RETURN properties(i) AS p", id=intention_id,
                                         database_=settings.neo4j_database)
    return records[0]["p"]


def test_mutation_without_or_with_a_wrong_key_changes_nothing(http, driver, settings, kb):
    target = kb["the person wants to decorate a living room with soft furniture"]
    before = _intention(driver, settings, target)
    for headers in ({}, {"X-API-Key": ""}, {"X-API-Key": "wrong"}, {"X-API-Key": KEY[:-1]},
                    {"X-API-Key": KEY + "0"}, {"X-API-Key": KEY.upper()}, {"Authorization": f"Basic {KEY}"},
                    {"Authorization": f"Bearer {KEY}x"}, {"Authorization": "Bearer"}):
        response = post(http, {"query": MUTATION, "variables": {"id": target}}, headers)
        assert "API key" in errors_of(response)[0]["message"], (headers, response.text)
        assert not (response.json().get("data") or {}).get("setIntentionStatus")
    # Not through the query string either.
    response = http.get("/graphql", params={"query": "mutation { setIntentionStatus(id: \"x\", status: ACCEPTED) "
                                                     "{ id } }", "api_key": KEY})
    assert response.status_code < 500
    assert _intention(driver, settings, target) == before


def test_the_api_key_and_password_are_never_logged(http, server, settings, kb):
    target = kb["they are both used for practicing yoga poses at home"]
    post(http, {"query": MUTATION, "variables": {"id": target}}, {"X-API-Key": KEY})
    post(http, {"query": MUTATION, "variables": {"id": "int_missing"}}, {"Authorization": f"Bearer {KEY}"})
    post(http, {"query": "{ product(asin: \"B0TENT0001\") { nope } }"}, {"X-API-Key": KEY})
    post(http, {"query": MUTATION + " junk {"}, {"X-API-Key": KEY})
    post(http, {"query": MUTATION, "variables": {"id": target}}, {"X-API-Key": "wrong-" + KEY[::-1]})
    # The server logs each request before it answers, but its log is read from a file: a last
    # request's own line proves that every line before it is there.
    marker = f"int_logged_{uuid.uuid4().hex}"
    post(http, {"query": MUTATION, "variables": {"id": marker}}, {"X-API-Key": KEY})
    log = wait_for_line(server["log"], marker)
    assert f"unknown intention id {marker!r}" in log
    assert KEY not in log and KEY[::-1] not in log
    assert settings.password() not in log


# --- load -----------------------------------------------------------------------------------------
def test_short_load_has_no_errors_and_flat_memory(server):
    asins = list(PRODUCTS)
    asyncio.run(run_load(server["base"], asins, clients=10, seconds=2))  # warm-up: caches, thread pools
    start = rss_mb(server["proc"].pid)
    result = asyncio.run(run_load(server["base"], asins, clients=20, seconds=5, max_requests=5000))
    end = rss_mb(server["proc"].pid)
    assert result["errors"] == 0, result
    assert all(v["n"] > 0 for v in result["latency_ms"].values()), result
    assert end - start < 150, (start, end)
    print(json.dumps({**result, "rss_mb": {"start": start, "end": end}}))


def test_several_worker_processes_serve_one_api(kb, tmp_path):
    """`mind serve --workers 2`: two processes answer on one port and stop together."""
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
            cwd=REPO, stdout=handle, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        query = "query($t: String!) { searchIntentions(text: $t, k: 2) { intention { text } } }"
        with httpx.Client(base_url=base, timeout=60) as client:
            for n in range(6):
                body = client.post("/graphql",
                                   json={"query": query, "variables": {"t": f"protect my phone {n}"}}).json()
                assert not body.get("errors") and len(body["data"]["searchIntentions"]) == 2, body
        workers = [c for c in psutil.Process(proc.pid).children(recursive=True)
                   if "spawn_main" in " ".join(c.cmdline())]
        assert len(workers) == 2, log.read_text(errors="replace")
    finally:
        proc.terminate()
        assert proc.wait(timeout=60) == 0, log.read_text(errors="replace")
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in workers)
