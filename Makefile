# Each target bootstraps what it needs: uv (from PyPI, into .tools/ if not on PATH),
# then the locked Python environment in .venv.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
# Machines that set PYTHONDONTWRITEBYTECODE make every process compile every module it imports again:
# 3 of a flow command's 6 s here. Our own commands and tests keep the compiled files (__pycache__ is ignored by git).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test test-postgresql lint bench bench-large soak env system-deps postgresql clean

# Debian packages: LibreOffice converts Word/Excel to PDF, pdftoppm renders pages, Liberation Serif
# stands in for Times New Roman (same metrics, Vietnamese glyphs); Chromium runs the portal's browser
# tests (driven by Playwright through its executable path, no downloaded browser); Dovecot is the IMAP
# server the reply-collection tests and the demo read the units' emailed reports from.
SYSTEM_PACKAGES := libreoffice-writer-nogui libreoffice-calc-nogui poppler-utils fonts-liberation2 chromium dovecot-imapd

demo: env system-deps
	$(UV) run --frozen cascade demo

# Two workers (pytest-xdist), each with its own Prefect test server; a module's tests stay on one worker
# so that module-scoped scenarios are built once.
test: env system-deps postgresql
	$(UV) run --frozen pytest -n 2 --dist loadscope

# The suite again with every test on a PostgreSQL database of its own (tests.fixtures.database): the
# tests whose database follows the setting; the others would only repeat what `make test` ran.
test-postgresql: env system-deps postgresql
	CASCADE_TEST_DATABASE=postgresql $(UV) run --frozen pytest -n 2 --dist loadscope

# Lint, formatting, types and the import contracts (layers, no circles, no sandbox in production code).
lint: env
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy
	$(UV) run --frozen lint-imports

# The machine's PostgreSQL (127.0.0.1:5432, trust auth): the migration and multi-worker tests use it.
postgresql:
	@if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v pg_ctlcluster >/dev/null; then \
		echo "Starting PostgreSQL"; \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start && pg_isready -t 30 -h 127.0.0.1 -p 5432; \
	else \
		echo "WARNING: PostgreSQL is not answering on 127.0.0.1:5432 and cannot be started here; the PostgreSQL tests will fail" >&2; \
	fi

# The installed packages are compiled once here, so that `uv run cascade …` outside make starts fast too.
env: $(UV)
	UV_COMPILE_BYTECODE=1 $(UV) sync --frozen --quiet

$(CURDIR)/.tools/bin/uv:
	python3 -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet uv==0.13.9

system-deps:
	@if command -v soffice >/dev/null && command -v pdftoppm >/dev/null && fc-list 2>/dev/null | grep -q "Liberation Serif" && [ -x /usr/bin/chromium ] && [ -x /usr/sbin/dovecot ]; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing $(SYSTEM_PACKAGES) (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null; \
	else \
		echo "WARNING: LibreOffice, pdftoppm, Liberation Serif, Chromium or Dovecot missing and not root: install $(SYSTEM_PACKAGES); the PDF, browser and mailbox tests will fail" >&2; \
	fi

clean:
	rm -rf .venv .tools demo-workspace .pytest_cache test-artifacts

bench: env system-deps
	$(UV) run --frozen python benchmarks/bench_cycle.py

# 20 SIGKILLs during a 2,000-unit cascade and delivery, and an SMTP outage drill; writes RELIABILITY-SOAK.md.
soak: env
	$(UV) run --frozen python benchmarks/soak.py

# A province-sized tree (20,210 units) through the cycle on SQLite and on PostgreSQL; writes BENCHMARKS-LARGE.md.
bench-large: env postgresql
	$(UV) run --frozen python benchmarks/bench_large.py
