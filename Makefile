# The README's two commands: `make run` and `make test`. Everything they need is set up here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app dispatch
SYSTEM_PACKAGES := chromium fonts-noto-cjk fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils
# What `make bench` needs besides: wrk, the load generator of bench/bench_wrk.py.
BENCH_PACKAGES := wrk
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

.PHONY: run test bench system-deps venv db demo lint clean messages translations fuzz fonts

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

## translations: the .po catalogues are under version control; the compiled .mo files are not
CATALOGUES := $(wildcard translations/*/LC_MESSAGES/messages.po)
translations: venv $(CATALOGUES:.po=.mo)

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel -q compile -f -d translations -l $* -i $< -o $@

## messages: extract every marked string, update both catalogues (English msgstr = msgid), then translate
## the new zh_CN entries by hand (see README, "Adding and translating a string")
messages: venv
	$(BIN)/python -m dispatch.core.catalogues update translations

## fonts: the CJK subset the PDFs print with (dispatch/core/pdf_fonts.py), cut from the installed Noto Sans CJK;
## without it documents print from the full font (slower), so a failed build is reported, not fatal
CJK_SUBSET := build/fonts/dispatch-cjk-subset.otf
fonts: system-deps venv $(CJK_SUBSET)

$(CJK_SUBSET): dispatch/core/pdf_fonts.py $(wildcard templates/pdf/*.html) $(CATALOGUES) | $(VENV)/.installed
	$(BIN)/python -m dispatch.core.pdf_fonts --output $@ || echo "!! the CJK font subset was not built: PDFs print from the full font"

db: venv translations
	$(FLASK) db upgrade

demo: db
	$(FLASK) seed-demo

run: system-deps translations fonts demo
	$(FLASK) run --host 127.0.0.1 --port 5000

lint: venv
	$(BIN)/ruff check dispatch technicians billing tests bench
	$(BIN)/mypy dispatch/models.py dispatch/core/models.py dispatch/services technicians billing

test: system-deps translations fonts lint
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('host=127.0.0.1 port=5432 user=postgres dbname=postgres', connect_timeout=3).close()" 2>/dev/null; then \
	  pg=1; else pg=0; fi; \
	if [ $$pg = 0 ] && [ "$${REQUIRE_POSTGRES:-0}" = 1 ]; then \
	  echo "!! REQUIRE_POSTGRES=1 but no PostgreSQL answers on 127.0.0.1:5432: failing."; exit 1; fi; \
	logs=$$(mktemp -d); \
	echo ">> test suite on SQLite$$( [ $$pg = 1 ] && echo ' and, at the same time, on PostgreSQL')"; \
	DISPATCH_TEST_DB=sqlite $(BIN)/pytest -q -p no:cacheprovider > $$logs/sqlite.log 2>&1 & sqlite_pid=$$!; \
	if [ $$pg = 1 ]; then \
	  DISPATCH_TEST_DB=postgresql $(BIN)/pytest -q -p no:cacheprovider > $$logs/postgresql.log 2>&1 & pg_pid=$$!; fi; \
	wait $$sqlite_pid; sqlite_rc=$$?; \
	echo ">> SQLite:"; cat $$logs/sqlite.log; \
	pg_rc=0; if [ $$pg = 1 ]; then wait $$pg_pid; pg_rc=$$?; echo ">> PostgreSQL:"; cat $$logs/postgresql.log; fi; \
	rm -rf $$logs; \
	if [ $$pg = 0 ]; then \
	  echo ""; echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	  echo "!! NO POSTGRESQL on 127.0.0.1:5432: the suite ran on SQLITE ONLY.   !!"; \
	  echo "!! Set REQUIRE_POSTGRES=1 to make this a failure (as .ci/run does). !!"; \
	  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	fi; \
	[ $$sqlite_rc = 0 ] && [ $$pg_rc = 0 ]

## fuzz: schemathesis deeper than the suite's run (tests/dispatch/test_schemathesis.py): FUZZ_EXAMPLES (20) valid and
## as many invalid examples per operation and role, every check, on SQLite and PostgreSQL; prints a summary
fuzz: system-deps translations
	$(BIN)/python -m tests.fuzzing

bench: system-deps venv translations fonts
	@$(MAKE) --no-print-directory system-deps SYSTEM_PACKAGES="$(BENCH_PACKAGES)"
	$(BIN)/pip install -q -e '.[dev,bench]'
	@for b in bench/bench_*.py; do echo ">> $$b"; $(BIN)/python $$b || exit $$?; done

clean:
	rm -rf $(VENV) instance *.egg-info
