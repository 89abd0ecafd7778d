# One-command set-up: `make demo` and `make test` create .venv if it is missing and install the package into it.
# On this project's CPU machines the install is pinned by constraints-cpu.txt (torch 2.14.1 + torchvision 0.29.1).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CONSTRAINTS ?= constraints-cpu.txt
STAMP := $(VENV)/.staf-installed

.PHONY: install demo test lint bench clean

# System programs, installed with apt-get when running as root (CI): ffmpeg (nerfstudio's ns-render) and Debian's
# chromium (tests/nerf/test_viewer_browser.py opens ns-viewer in it through Playwright; Playwright's own browser download
# is never used). Without them the affected tests skip and say so.
APT_PROGRAMS := ffmpeg chromium

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@missing=""; for p in $(APT_PROGRAMS); do command -v $$p >/dev/null || missing="$$missing $$p"; done; \
	[ -z "$$missing" ] || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		(apt-get update -q >/dev/null && apt-get install -y -q $$missing >/dev/null); } || \
		echo "note: missing$$missing (apt-get install$$missing); ns-render needs ffmpeg, the viewer test chromium"
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
