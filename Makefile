# tradeportal — the README's commands. `make run` serves the portal with demo data;
# `make test` sets up and runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := app

.PHONY: run test setup setup-test translations compile-translations db demo bench clean security-report

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

setup: $(VENV)/.runtime compile-translations

setup-test: $(VENV)/.dev compile-translations node_modules/.installed

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js (apt-get install -y nodejs npm) for the axe-core scans"; exit 1; }
	npm ci --no-audit --no-fund --silent
	touch $@

compile-translations: $(VENV)/.runtime
	$(BIN)/pybabel compile --statistics -f -d translations 2>&1 | grep -v "^$$" || true

## Extract the messages, update fr/en/de and compile them.
translations: $(VENV)/.runtime
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --add-comments=Translators: --sort-by-file --no-wrap -o translations/messages.pot --project=tradeportal --copyright-holder="tradeportal contributors" .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-wrap --ignore-obsolete --no-fuzzy-matching
	$(BIN)/pybabel compile -f -d translations

db: setup
	$(BIN)/flask db upgrade heads

## Serve the portal with demo data on http://127.0.0.1:$(PORT) (SQLite in instance/).
## The outbox worker (e-mails, notice fan-out, password-reset links) runs beside the server;
## its log is instance/worker.log and it stops with the server.
run: db
	$(BIN)/flask tp seed-demo
	$(BIN)/flask tp send-mail --interval 3 > instance/worker.log 2>&1 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT)

## The whole suite: unit, view, browser, accessibility.
test: setup-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## The security battery (tests/security, and the browser journeys for CSP violations), then
## docs/SECURITY.md from its figures. SECURITY_DATABASE_URL=postgresql+psycopg://… runs it on PostgreSQL too.
security-report: setup-test
	rm -f build/security-figures.json
	status=0; \
	$(BIN)/python -m pytest -q tests/security tests/browser $(PYTEST_ARGS) || status=1; \
	$(if $(SECURITY_DATABASE_URL),TRADEPORTAL_TEST_DATABASE_URL=$(SECURITY_DATABASE_URL) $(BIN)/python -m pytest -q tests/security $(PYTEST_ARGS) || status=1;) \
	$(BIN)/python -m tests.security.report && exit $$status

bench: setup-test
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) node_modules instance/tradeportal.db* .pytest_cache
