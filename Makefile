# The README's two commands: `make run` and `make test`. Everything they need is set up here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app dispatch
SYSTEM_PACKAGES := chromium fonts-noto-cjk fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

.PHONY: run test bench system-deps venv db demo lint clean

## system packages: the browser for tests, Pango for WeasyPrint, fonts for Latin and Chinese text
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo ">> installing system packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

db: venv
	$(FLASK) db upgrade

demo: db
	$(FLASK) seed-demo

run: system-deps demo
	$(FLASK) run --host 127.0.0.1 --port 5000

lint: venv
	$(BIN)/ruff check dispatch technicians billing tests bench
	$(BIN)/mypy dispatch/models.py dispatch/core/models.py dispatch/services.py technicians billing

test: system-deps lint
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('host=127.0.0.1 port=5432 user=postgres dbname=postgres', connect_timeout=3).close()" 2>/dev/null; then \
	  pg=1; else pg=0; fi; \
	if [ $$pg = 0 ] && [ "$${REQUIRE_POSTGRES:-0}" = 1 ]; then \
	  echo "!! REQUIRE_POSTGRES=1 but no PostgreSQL answers on 127.0.0.1:5432: failing."; exit 1; fi; \
	echo ">> test suite on SQLite"; \
	DISPATCH_TEST_DB=sqlite $(BIN)/pytest -q -p no:cacheprovider || exit $$?; \
	if [ $$pg = 1 ]; then \
	  echo ">> test suite on PostgreSQL"; \
	  DISPATCH_TEST_DB=postgresql $(BIN)/pytest -q -p no:cacheprovider || exit $$?; \
	else \
	  echo ""; echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	  echo "!! NO POSTGRESQL on 127.0.0.1:5432: the suite ran on SQLITE ONLY.   !!"; \
	  echo "!! Set REQUIRE_POSTGRES=1 to make this a failure (as .ci/run does). !!"; \
	  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	fi

bench: system-deps venv
	$(BIN)/pip install -q -e '.[dev,bench]'
	@for b in bench/bench_*.py; do echo ">> $$b"; $(BIN)/python $$b || exit $$?; done

clean:
	rm -rf $(VENV) instance *.egg-info
