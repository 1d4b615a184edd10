"""Calm errors: a user error is one INFO line without a traceback; the unexpected keep theirs and stay masked.

Faults these hold shut: every user error (an unknown asin, `k` out of range, a misspelt field)
logged a full traceback (8,226 in one probe, 9.3 MB); and strawberry's MaskErrors, one instance
for all requests, masked whichever request had started last, so under concurrency an unexpected
error could reach its client unmasked.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from api.errors import one_line

USER_ERRORS = [
    ('{ product(asin: "B0NOPE") { asin } }', "unknown product"),
    ('{ searchIntentions(text: "tent", k: 0) { score } }', "k must be between 1 and 100"),
    ('{ searchIntentions(text: "tent", k: 101) { score } }', "k must be between 1 and 100"),
    ('{ relations { nope } }', "Cannot query field 'nope'"),
    ('{ relations { name ', "Syntax Error"),
    ('{ product(asin: "B0TENT0001") { coBought(after: "zz!") { nodes { asin } } } }', "invalid cursor"),
]
BROKEN = '{ product(asin: "B0BROKEN02") { description } }'


@pytest.fixture
def broken_product(driver, settings):
    """A stored value the resolver cannot handle (a list of numbers as description): a Python error inside."""
    driver.execute_query("MERGE (p:Product {asin: 'B0BROKEN02'}) SET p.description = [1, 2]",
                         database_=settings.neo4j_database)
    yield
    driver.execute_query("MATCH (p:Product {asin: 'B0BROKEN02'}) DETACH DELETE p", database_=settings.neo4j_database)


@pytest.mark.parametrize("query, expected", USER_ERRORS)
def test_a_user_error_logs_one_info_line_without_a_traceback(client, caplog, query, expected):
    caplog.set_level(logging.INFO)
    response = client.post("/graphql", json={"query": query})
    assert expected in response.json()["errors"][0]["message"]
    lines = [r for r in caplog.records if r.name.startswith("strawberry")]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert lines[0].levelno == logging.INFO and lines[0].exc_info is None
    assert expected in lines[0].getMessage() and "testclient" in lines[0].getMessage()
    assert "\n" not in lines[0].getMessage() and "Traceback" not in caplog.text


def test_log_lines_carry_no_line_breaks_from_clients():
    assert one_line("unknown product asin='B0\n2024-01-01 ERROR forged'") == \
        "unknown product asin='B0 2024-01-01 ERROR forged'"
    assert len(one_line("x" * 10_000)) <= 303


def test_an_unexpected_error_keeps_its_traceback_and_is_masked(client, caplog, broken_product):
    caplog.set_level(logging.INFO)
    body = client.post("/graphql", json={"query": BROKEN}).json()
    assert body["errors"][0]["message"] == "Unexpected error."
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None


def test_unexpected_errors_stay_masked_under_concurrent_requests(client, broken_product):
    """The broken request finishes while another is still running: its error must be masked anyway."""
    search = "query($t: String!) { searchIntentions(text: $t, k: 3) { score intention { text } } }"

    async def side_by_side(n: int):
        transport = httpx.ASGITransport(app=client.app, client=("127.0.0.1", 40000 + n))
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            return await asyncio.gather(
                http.post("/graphql", json={"query": BROKEN}),
                http.post("/graphql", json={"query": search, "variables": {"t": f"camping in the rain {n}"}}))

    for n in range(5):
        broken, other = client.portal.call(side_by_side, n)
        assert broken.json()["errors"][0]["message"] == "Unexpected error.", broken.text
        assert "TypeError" not in broken.text and "join" not in broken.text
        assert not other.json().get("errors") and len(other.json()["data"]["searchIntentions"]) == 3
