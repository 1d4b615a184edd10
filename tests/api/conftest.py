"""The API modules' shared graph: the embedded test graph, and a client of an app over it (a module may
define its own `kb` or `client` instead)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.support.api_graph import build_embedded_graph


@pytest.fixture(scope="module")
def kb(driver, settings):
    return build_embedded_graph(driver, settings)


@pytest.fixture(scope="module")
def client(kb, settings):
    with TestClient(create_app(settings)) as c:
        yield c
