"""Every GraphQL example in README.md and docs/ runs against the bundled sample as `make demo` loads it
(catalogue + hand-written intentions, embedded): no errors, and every top-level field answers."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from embedding.embed import embed_all
from embedding.encoder import TextEncoder
from tests.conftest import reset_graph
from tests.support.cli import run_cli
from tests.support.paths import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCK = re.compile(r"```graphql\n(.*?)```", re.S)


def operations(text: str) -> list[str]:
    """The top-level operations of a block: balanced braces (strings skipped), keyword included."""
    ops, depth, start, in_string = [], 0, 0, False
    for i, ch in enumerate(text):
        if ch == '"' and text[i - 1] != "\\":
            in_string = not in_string
        elif in_string:
            continue
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                ops.append(text[start:i + 1].strip())
                start = i + 1
    assert depth == 0 and not in_string, f"unbalanced example: {text!r}"
    return ops


def examples() -> list[tuple[str, str]]:
    found = [(f"{path.name}#{n}", op) for path in DOCS
             for block in BLOCK.findall(path.read_text()) for n, op in enumerate(operations(block))]
    return [(name, op) for name, op in found if not op.startswith("mutation")]  # writes need a key and an id


EXAMPLES = examples()


def test_the_docs_hold_examples() -> None:
    names = {name.split("#")[0] for name, _ in EXAMPLES}
    assert {"README.md", "api.md"} <= names and len(EXAMPLES) >= 7


@pytest.fixture(scope="module")
def client(driver, settings):
    reset_graph(driver, settings)
    catalog = run_cli("ingest", "catalog", str(REPO / "ingest/sample/catalog.jsonl"), "--json")
    assert catalog.returncode == 0, catalog.stderr
    imported = run_cli("import", "intentions", str(REPO / "ingest/sample/intentions.jsonl"), "--format", "jsonl", "--json")
    assert imported.returncode == 0 and imported.summary["quarantined"] == 0, imported.stderr
    encoder = TextEncoder.load(settings.embedding_model, batch_size=64, backend=settings.embedding_backend,
                               cache_dir=settings.cache_dir)
    embed_all(driver, settings.neo4j_database, encoder)
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.mark.parametrize(("name", "query"), EXAMPLES, ids=[name for name, _ in EXAMPLES])
def test_example_answers(client, name: str, query: str) -> None:
    body = client.post("/graphql", json={"query": query}).json()
    assert not body.get("errors"), (name, body["errors"])
    for field, value in body["data"].items():
        assert value not in (None, [], {}), f"{name}: `{field}` is empty on the sample"
