# Each target bootstraps what it needs: uv (from PyPI, into .tools/ if not on PATH),
# then the locked Python environment in .venv.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: demo test bench env clean

demo: env
	$(UV) run --frozen cascade demo

test: env
	$(UV) run --frozen pytest

env: $(UV)
	$(UV) sync --frozen --quiet

$(CURDIR)/.tools/bin/uv:
	python3 -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet uv==0.13.9

clean:
	rm -rf .venv .tools demo-workspace .pytest_cache

bench: env
	$(UV) run --frozen python benchmarks/bench_cycle.py
