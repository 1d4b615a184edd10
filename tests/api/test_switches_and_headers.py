"""Operator switches (GraphiQL, introspection) and the security headers on every answer.

Faults these hold shut: GraphiQL and introspection could not be turned off, and pages carried no
Content-Security-Policy or X-Frame-Options.
"""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.graphiql import assets_present
from tests.support.api_graph import build_embedded_graph

HTML = {"Accept": "text/html"}
INTROSPECTION = "{ __schema { queryType { name } types { name } } }"


@pytest.fixture(scope="module")
def kb(driver, settings):
    return build_embedded_graph(driver, settings)


def test_graphiql_and_introspection_are_on_by_default(kb, settings):
    with TestClient(create_app(settings)) as client:
        assert client.get("/graphql", headers=HTML).status_code == (200 if assets_present() else 503)
        body = client.post("/graphql", json={"query": INTROSPECTION}).json()
        assert body["data"]["__schema"]["queryType"]["name"] == "Query"


def test_graphiql_and_introspection_can_be_turned_off(kb, settings):
    closed = settings.model_copy(update={"api_graphiql": False, "api_introspection": False})
    with TestClient(create_app(closed)) as client:
        assert client.get("/graphql", headers=HTML).status_code == 404
        assert client.get("/graphql/static/graphiql.min.js").status_code == 404
        for query in (INTROSPECTION, '{ __type(name: "Product") { fields { name } } }'):
            body = client.post("/graphql", json={"query": query}).json()
            assert body["data"] is None and "introspection" in body["errors"][0]["message"].lower()
        # Queries, over POST and GET, and __typename still answer.
        body = client.post("/graphql", json={"query": "{ __typename relations { name } }"}).json()
        assert not body.get("errors") and len(body["data"]["relations"]) == 20
        assert client.get("/graphql", params={"query": "{ relations { name } }"}).json()["data"]["relations"]


def _common_headers(response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_every_answer_carries_security_headers(kb, settings):
    with TestClient(create_app(settings)) as client:
        answers = [
            client.post("/graphql", json={"query": "{ relations { name } }"}),
            client.get("/graphql", params={"query": "{ relations { name } }"}),
            client.post("/graphql", content=b"null", headers={"Content-Type": "application/json"}),  # the guard's 400
            client.post("/graphql", json={"query": "{ x }" + " " * 30_000}),  # the guard's 413
            client.get("/healthz"),
            client.get("/nowhere"),
        ]
        for response in answers:
            _common_headers(response)
            assert response.headers["content-security-policy"].startswith("default-src 'none'")


def test_the_graphiql_page_allows_only_its_own_files_and_script(kb, settings):
    if not assets_present():
        pytest.fail("GraphiQL's files are missing from api/static/graphiql/: run `make install`")
    with TestClient(create_app(settings)) as client:
        page = client.get("/graphql", headers=HTML)
    assert page.status_code == 200
    _common_headers(page)
    policy = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
    inline = re.findall(r"<script>(.*?)</script>", page.text, re.S)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert policy["script-src"] == f"'self' 'sha256-{digest}'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert policy["default-src"] == "'none'" and policy["connect-src"] == "'self'"
    assert not re.search(r"https?://", page.headers["content-security-policy"])
