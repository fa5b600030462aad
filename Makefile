# The two commands: `make run` and `make test`. Everything else is set up on the way.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask
PYTEST_ARGS ?=
# Compiled message catalogs, built from the committed .po files.
MO := $(patsubst %.po,%.mo,$(wildcard petition/translations/*/LC_MESSAGES/messages.po))

.PHONY: run test lint format worker translations clean bench-bundle fonts

# The fonts the delivery bundle and the posters draw every script with (petition/pdf/fonts.py):
# Debian's packages, installed here when we are root; otherwise `make fonts` says what to run.
FONT_PACKAGES := fonts-noto-core fonts-droid-fallback fonts-nanum fonts-ipafont-gothic \
	fonts-dejavu-core

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "petition needs Python 3.11 or newer ($(PYTHON) is older)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install -q -r requirements-dev.txt -c constraints.txt
	touch $@

%.mo: %.po $(VENV)/.runtime
	$(BIN)/pybabel compile -i $< -o $@

## translations: extract messages and update every catalog (then translate the .po files)
translations: $(VENV)/.runtime
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --omit-header \
		-o messages.pot .
	$(BIN)/pybabel update -i messages.pot -d petition/translations -w 100 --no-fuzzy-matching --ignore-obsolete
	rm messages.pot

## fonts: the font packages of every script a name may be written in (Debian; root installs)
fonts:
	@missing=$$(for p in $(FONT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
		grep -q "install ok installed" || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing fonts: $$missing"; apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "fonts missing for the delivery bundle: sudo apt-get install $$missing"; \
		echo "(until then flask delivery pdf refuses names it cannot print; see README)"; \
	fi

## run: set everything up and serve the demo on http://127.0.0.1:5000 (mail prints here)
run: $(VENV)/.runtime $(MO) fonts
	$(FLASK) db upgrade
	$(FLASK) demo
	$(FLASK) run --host 127.0.0.1 --port 5000

## test: set up and run the tests against SQLite, PostgreSQL, Redis and Chromium
test: $(VENV)/.dev $(MO) fonts
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

## lint: ruff and the import contracts (pyproject.toml), as CI runs them
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python .ci/check_catalogs.py

## audit: check every pinned package (constraints.txt) for known vulnerabilities; fails on one,
## says AUDIT NOT RUN (and passes) when the vulnerability service cannot answer
.PHONY: audit
audit: $(VENV)/.dev
	$(BIN)/python .ci/audit.py constraints.txt

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## bench-bundle: the delivery PDF of 100,000 and 1,000,000 signatures (SQLite); see bench/RESULTS.md
bench-bundle: $(VENV)/.runtime
	$(BIN)/python bench/bundle.py --rows 100000
	$(BIN)/python bench/bundle.py --rows 1000000

## bench-import: import 1,000,000 generated signatures into PostgreSQL and SQLite; see bench/RESULTS.md
.PHONY: bench-import
bench-import: $(VENV)/.dev
	$(BIN)/python bench/import_bench.py --rows 1000000

## bench-import-header: how fast an import refuses a header of 30,000 to 3,000,000 columns (#12)
.PHONY: bench-import-header
bench-import-header: $(VENV)/.runtime
	$(BIN)/python bench/import_header.py

# wrk drives the HTTP benchmarks: a Debian package, installed here when we are root.
.PHONY: wrk
wrk:
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -q && apt-get install -y -q wrk; } || \
		{ echo "wrk is missing: run 'sudo apt-get install wrk' (Debian/Ubuntu) and retry"; exit 1; }

## bench: every benchmark of issue #6 (HTTP signing and count at 10k and 1M signatures on SQLite
## and PostgreSQL, the 1M import, the 1M bundle), written to bench/RESULTS.md; ~17 minutes
.PHONY: bench
bench: $(VENV)/.dev $(MO) wrk
	$(BIN)/python bench/http_bench.py --suite --profile 10 --write-results

## bench-http: only the HTTP benchmarks (about 6 minutes), printed, RESULTS.md untouched
.PHONY: bench-http
bench-http: $(VENV)/.dev $(MO) wrk
	$(BIN)/python bench/http_bench.py

## bench-quick: a smoke run of the HTTP benchmark (3 s runs, 10k signatures, both databases)
.PHONY: bench-quick
bench-quick: $(VENV)/.dev $(MO) wrk
	$(BIN)/python bench/http_bench.py --quick

## bench-peak: 60 s of signing with mail flowing to aiosmtpd and every third signer confirming,
## per setup (embedded, make serve's, production on PostgreSQL + Redis), beside the bare route (#16)
.PHONY: bench-peak
bench-peak: $(VENV)/.dev $(MO) wrk
	$(BIN)/python bench/peak.py --setup all --duration 60

## bench-cpu: CPU per sign request in one process (test client, both databases), and where it goes
.PHONY: bench-cpu
bench-cpu: $(VENV)/.dev $(MO)
	$(BIN)/python bench/sign_cpu.py --profile 30 --sort cumulative

## worker: send queued mail (production runs this beside gunicorn)
worker: $(VENV)/.runtime $(MO)
	$(FLASK) worker

## serve: gunicorn (gunicorn.conf.py) and `flask worker` side by side, as production runs them,
## on http://127.0.0.1:8000; Ctrl-C stops both. The config is development's unless the
## environment says DEPLOYMENT=production (which needs SECRET_KEY); RQ if REDIS_URL is set.
.PHONY: serve
serve: SHELL := /bin/bash
serve: $(VENV)/.runtime $(MO) fonts
	$(FLASK) db upgrade
	export FLASK_JOBS_IN_PROCESS="$${FLASK_JOBS_IN_PROCESS:-0}" \
		PUBLIC_URL="$${PUBLIC_URL:-http://127.0.0.1:$${PORT:-8000}}"; \
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app & web=$$!; \
	$(FLASK) worker & worker=$$!; \
	trap 'kill -TERM $$web $$worker 2>/dev/null' INT TERM; \
	wait -n $$web $$worker; status=$$?; \
	kill -TERM $$web $$worker 2>/dev/null; wait; exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
