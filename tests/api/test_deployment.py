"""The container set-up ships no secret and publishes nothing beyond this host by default.

Faults these hold shut: docker-compose defaulted the key to empty (`${MIND_API_KEY:-}`, which
opened writes) and the Neo4j password to `change-me-please`, and published the API and Neo4j on
every interface. (No Docker engine here: the files are checked as compose and Docker read them.)
"""

from __future__ import annotations

import re

import yaml

from tests.support.paths import REPO

REQUIRED = re.compile(r"^\$\{(?P<name>[A-Z0-9_]+):\?(?P<message>[^}]+)\}$")


def _compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_requires_the_password_and_the_key():
    services = _compose()["services"]
    values = {
        "NEO4J_AUTH": services["neo4j"]["environment"]["NEO4J_AUTH"].removeprefix("neo4j/"),
        "NEO4J_PASSWORD": services["api"]["environment"]["NEO4J_PASSWORD"],
        "MIND_API_KEY": services["api"]["environment"]["MIND_API_KEY"],
        "worker NEO4J_PASSWORD": services["worker"]["environment"]["NEO4J_PASSWORD"],
    }
    for where, value in values.items():
        required = REQUIRED.match(value)
        assert required, f"{where} has a default or no check: {value}"
        assert required["name"] in where or (where == "NEO4J_AUTH" and required["name"] == "NEO4J_PASSWORD")
        assert "set " + required["name"] in required["message"]
    assert "MIND_API_KEY" not in services["worker"]["environment"]  # the worker never serves writes
    text = (REPO / "docker-compose.yml").read_text()
    assert "change-me" not in text and "MIND_API_KEY:-" not in text


def test_compose_publishes_on_this_host_unless_told_otherwise():
    for name, service in _compose()["services"].items():
        for port in service.get("ports", []):
            assert port.startswith("${MIND_PUBLISH_ADDRESS:-127.0.0.1}:"), (name, port)


def test_the_image_bakes_in_no_secret_and_binds_all_interfaces_only_inside():
    dockerfile = (REPO / "Dockerfile").read_text()
    env_lines = [line for line in dockerfile.splitlines() if line.startswith("ENV ")]
    assert not any(re.search(r"PASSWORD|API_KEY|SECRET|TOKEN", line) for line in env_lines), env_lines
    assert any("MIND_API_HOST=0.0.0.0" in line for line in env_lines)
    assert "--host" not in dockerfile.split("CMD", 1)[1]


def test_env_example_leaves_the_key_unset():
    for line in (REPO / ".env.example").read_text().splitlines():
        assert not re.match(r"\s*MIND_API_KEY\s*=", line), "an uncommented empty key is a configuration error"


def _stages() -> dict[str, str]:
    """The Dockerfile's stages by name, each with its own lines."""
    parts = re.split(r"^FROM \S+ AS (\S+)\s*$", (REPO / "Dockerfile").read_text(), flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_the_api_image_is_the_serve_install_with_the_onnx_export():
    stages = _stages()
    api = stages["api"]
    assert list(stages)[-1] == "api"  # the default target of `docker build .`
    assert "'.[serve]'" in api and "full" not in api and "torch" not in api.replace("no torch", "")
    assert "COPY --from=onnx-export /export/onnx /cache/onnx" in api
    assert "python -m embedding.export_onnx" in stages["onnx-export"]
    assert "'.[full]'" in stages["worker"]
    services = _compose()["services"]
    assert services["api"]["build"]["target"] == "api" and services["worker"]["build"]["target"] == "worker"
