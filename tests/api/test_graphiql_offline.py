"""GraphiQL works with no network: a real `mind serve`, its page, and headless Chromium running a query.

The page's files come from `make install` (scripts/fetch_graphiql.py); the browser resolves no host
but localhost, so any file still wanted from a CDN would leave the page blank and fail the test.
"""

from __future__ import annotations

import json
import re
import urllib.parse

import httpx
import pytest
from fastapi.testclient import TestClient

import api.graphiql
from api.app import create_app
from api.graphiql import asset_names, assets_present
from benchmarks.query import mind_serve
from tests.support.api_graph import build_embedded_graph
from tests.support.chromium import Chromium, chromium_binary

URL = re.compile(r"""https?://[^\s"'<>)]+""")
LOCAL = ("http://127.0.0.1", "http://localhost")
QUERY = "{ relations { name accepted } }"
HTML = {"Accept": "text/html"}
CSP_WATCH = ("window.__cspViolations = []; document.addEventListener('securitypolicyviolation', "
             "(e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));")
# The whole text of a GraphiQL editor pane (CodeMirror 5 draws only the lines in view).
EDITOR_TEXT = "(() => {{ const e = document.querySelector('.{pane} .CodeMirror'); return e ? e.CodeMirror.getValue() : ''; }})()"


@pytest.fixture(scope="module")
def kb(driver, settings):
    return build_embedded_graph(driver, settings)


@pytest.fixture(scope="module")
def base(kb):
    if not assets_present():
        pytest.fail("GraphiQL's files are missing from api/static/graphiql/: run `make install` "
                    "(python3 scripts/fetch_graphiql.py)")
    with mind_serve() as (base_url, _):
        yield base_url


def test_page_and_its_files_are_local(base):
    with httpx.Client(base_url=base, timeout=30) as http:
        page = http.get("/graphql", headers=HTML)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        outside = [u for u in URL.findall(page.text) if not u.startswith(LOCAL)]
        assert not outside, f"the page references outside URLs: {outside}"
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sorted(s.rsplit("/", 1)[-1] for s in sources if not s.startswith("data:")) == sorted(asset_names())
        for source in sources:
            if source.startswith("data:"):
                continue
            assert source.startswith("/graphql/static/"), source
            got = http.get(source)
            assert got.status_code == 200 and len(got.content) > 100, source
        assert http.get("/graphql/static/not-there.js").status_code == 404


def test_graphiql_runs_a_query_in_headless_chromium(base, tmp_path):
    browser = Chromium(chromium_binary(), tmp_path / "profile", tmp_path / "chromium.log")
    try:
        browser.page("Network.enable")
        browser.page("Runtime.enable")
        # Anything the page's Content-Security-Policy blocks is recorded (and must be nothing).
        browser.page("Page.enable")
        browser.page("Page.addScriptToEvaluateOnNewDocument", {"source": CSP_WATCH})
        url = f"{base}/graphql?q={urllib.parse.quote(QUERY)}"
        browser.page("Page.navigate", {"url": url})
        browser.wait_for("document.querySelector('.graphiql-execute-button') !== null", what="GraphiQL's run button")
        assert browser.evaluate(EDITOR_TEXT.format(pane="graphiql-query-editor")) == QUERY
        browser.click(".graphiql-execute-button")
        answer = browser.wait_for(EDITOR_TEXT.format(pane="graphiql-response"), what="the query's answer")
        relations = {r["name"]: r["accepted"] for r in json.loads(answer)["data"]["relations"]}
        assert len(relations) == 20 and relations["UsedFor"] > 0
        urls = browser.requested_urls()
        assert any(u.startswith(f"{base}/graphql/static/graphiql.min.js") for u in urls)
        assert browser.evaluate("window.__cspViolations") == []
        # The policy is in force: the page may not fetch from another origin.
        browser.evaluate("fetch('http://127.0.0.1:9/elsewhere').catch(() => null), true")
        assert "connect-src" in browser.wait_for("window.__cspViolations.join(' ')", what="the policy's refusal")
        assert [u for u in urls if not u.startswith((base, "data:", "about:"))] == []
    finally:
        browser.close()


def test_missing_files_say_so_and_the_api_still_works(kb, settings, tmp_path, monkeypatch):
    monkeypatch.setattr(api.graphiql, "STATIC_DIR", tmp_path / "absent")
    with TestClient(create_app(settings)) as client:
        page = client.get("/graphql", headers=HTML)
        assert page.status_code == 503
        text = re.sub(r"<[^>]+>", "", page.text).strip()
        assert len(text.splitlines()) == 1 and "make install" in text
        assert client.get("/graphql/static/graphiql.min.js").status_code == 404
        body = client.post("/graphql", json={"query": QUERY}).json()
        assert not body.get("errors") and any(r["name"] == "UsedFor" for r in body["data"]["relations"])
