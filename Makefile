# Relay: the two commands a new user needs are `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: run test lint format fuzz bench cluster clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime-installed $@

## run: start both server roles on an embedded default (SQLite, in-memory channel layer)
run: $(VENV)/.runtime-installed
	$(BIN)/python manage.py migrate --no-input -v 0
	$(BIN)/python manage.py ensure_admin
	@echo "Relay on http://$(HOST):$(PORT)/ (Ctrl-C stops it)"
	exec $(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

## test: lint, the package boundaries (import contracts in pyproject.toml), the whole suite
test: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache --no-logo
	@command -v node >/dev/null 2>&1 || { echo "node not found: install Node.js 20 (the page's JS unit tests use node --test)"; exit 1; }
	node --test tests/js/
	$(BIN)/python -m pytest

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache --no-logo

## fuzz: random and mutated bytes at every protocol decoder, at least FUZZ_MIN_INPUTS (10^6) each
FUZZ_SECONDS ?= 300
FUZZ_MIN_INPUTS ?= 1000000
FUZZ_SOCKET_SECONDS ?= 60
fuzz: $(VENV)/.dev-installed
	$(BIN)/python fuzz/fuzz_decoders.py --seconds $(FUZZ_SECONDS) --min-inputs $(FUZZ_MIN_INPUTS)
	$(BIN)/python fuzz/fuzz_sockets.py --seconds $(FUZZ_SOCKET_SECONDS)

## bench: record sealing against raw ChaCha20-Poly1305, the relay against direct TCP, memory per idle socket
bench: $(VENV)/.dev-installed
	$(BIN)/python bench/records_bench.py
	$(BIN)/python bench/relay_bench.py
	$(BIN)/python bench/idle_sockets_bench.py

## cluster: Redis, three relay workers, HAProxy and a home instance on loopback (CLUSTER_ARGS="--tls --sentinel")
cluster: $(VENV)/.dev-installed
	@command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || { echo "haproxy not found: apt-get install haproxy"; exit 1; }
	exec $(BIN)/python -m tests.harness.cluster $(CLUSTER_ARGS)

format: $(VENV)/.dev-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .cluster
