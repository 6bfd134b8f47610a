# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PACKAGES := -e 'shared[broker]' -e services/grid-svc -e services/points-svc -e services/dispatch-svc -e services/legal-svc -e services/gateway

.PHONY: venv run test test-unit lint-imports compose-check bench clean

$(STAMP): shared/pyproject.toml services/*/pyproject.toml requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(PACKAGES) -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

## Start the broker and all five services (gateway on :8000), load the demo town (DEMO=0 skips it); Ctrl-C stops everything.
run: venv
	$(BIN)/python -m devstack run $(if $(filter 0 no false,$(DEMO)),--no-demo,)

## The whole suite: unit and integration tests on SQLite and PostgreSQL with the real broker.
test: venv
	$(BIN)/python -m pytest

test-unit: venv
	$(BIN)/python -m pytest tests/unit

## Load scenarios with wrk (Debian package `wrk`) on PostgreSQL at SIZE=town|county|prefecture; reports in bench/out/.
SIZE ?= town
bench: venv
	@command -v wrk >/dev/null || { echo "wrk is required: apt-get install wrk"; exit 1; }
	$(BIN)/python -m bench run --size $(SIZE) $(BENCH_ARGS)

lint-imports: venv
	$(BIN)/lint-imports

compose-check:
	docker-compose -f docker-compose.yml config -q

clean:
	rm -rf var .pytest_cache .hypothesis
