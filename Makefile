# Two commands: `make run` and `make test`. Both create .venv when missing and install
# the project with the pinned versions in constraints.txt (torch 2.13.0, CPU wheel).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: run test lint bench peers clean-venv browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/forecast run $(ARGS)

# Headless Chromium for the report-rendering test; installed only where missing and
# where apt-get can be used (the test skips with a reason otherwise).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1) || \
	  echo "chromium not installed: the report-rendering test will be skipped"; }

test: $(STAMP) browser
	$(BIN)/python -m pytest -q $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check forecast baselines models tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_data.py
	$(BIN)/python benchmarks/bench_task.py
	$(BIN)/python benchmarks/bench_training.py
	$(BIN)/python benchmarks/bench_scale.py --sizes 12,48,200

# The peer libraries (skforecast, Darts, NeuralForecast) on the same task, in their own
# environment (they need pandas < 3): this project's runs in both modes, then theirs.
# `make peers PEERS_DATASET=beijing-multisite` compares on the 12 sites.
PEERS_VENV := .venv-peers
PEERS_DATASET ?= beijing
PEERS_OUT := reports/peers-$(PEERS_DATASET)

$(PEERS_VENV)/.installed: benchmarks/peers-constraints.txt
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install --quiet --disable-pip-version-check torch==2.13.0
	$(PEERS_VENV)/bin/pip install --quiet --disable-pip-version-check \
	  -c benchmarks/peers-constraints.txt skforecast darts neuralforecast
	touch $@

peers: $(STAMP) $(PEERS_VENV)/.installed
	$(BIN)/python benchmarks/peers.py daily --out $(PEERS_OUT) --dataset $(PEERS_DATASET)
	for mode in observed forecast; do \
	  run=$$($(BIN)/forecast run --dataset $(PEERS_DATASET) --mode $$mode --no-progress-bar \
	    | tail -1) && \
	  $(PEERS_VENV)/bin/python benchmarks/peers.py score $(PEERS_OUT) --mode $$mode --run $$run \
	  || exit 1; done

clean-venv:
	rm -rf $(VENV) $(PEERS_VENV)
