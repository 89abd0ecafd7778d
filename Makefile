# One-command set-up: `make demo` and `make test` create .venv if it is missing and install the package into it.
# On this project's CPU machines the install is pinned by constraints-cpu.txt (torch 2.14.1 + torchvision 0.29.1).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CONSTRAINTS ?= constraints-cpu.txt
STAMP := $(VENV)/.staf-installed

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@command -v ffmpeg >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		(apt-get update -q >/dev/null && apt-get install -y -q ffmpeg >/dev/null); } || \
		echo "note: ffmpeg is missing; nerfstudio's ns-render needs it (apt-get install ffmpeg)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c $(CONSTRAINTS) -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/staf-demo

lint: $(STAMP)
	$(VENV)/bin/ruff check staf_nerfstudio staf_tasks tests benchmarks
	$(VENV)/bin/lint-imports --no-cache  # the layering contracts in pyproject.toml ([tool.importlinter])

test: $(STAMP) lint
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/bench_staf.py

clean:
	rm -rf $(VENV) outputs .pytest_cache
