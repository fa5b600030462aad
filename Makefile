# The two commands: `make run` and `make test`. Everything else is set up on the way.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask
PYTEST_ARGS ?=
# Compiled message catalogs, built from the committed .po files.
MO := $(patsubst %.po,%.mo,$(wildcard petition/translations/*/LC_MESSAGES/messages.po))

.PHONY: run test lint format worker translations clean bench-bundle

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
	$(BIN)/pybabel update -i messages.pot -d petition/translations -w 100 --no-fuzzy-matching
	rm messages.pot

## run: set everything up and serve the demo on http://127.0.0.1:5000 (mail prints here)
run: $(VENV)/.runtime $(MO)
	$(FLASK) db upgrade
	$(FLASK) demo
	$(FLASK) run --host 127.0.0.1 --port 5000

## test: set up and run the tests against SQLite, PostgreSQL, Redis and Chromium
test: $(VENV)/.dev $(MO)
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

## lint: ruff, as CI runs it
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

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

## worker: send queued mail (production runs this beside gunicorn)
worker: $(VENV)/.runtime $(MO)
	$(FLASK) worker

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
