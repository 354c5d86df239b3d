# patron: `make serve` runs the server, `make test` runs the tests. Both install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# `make lock` resolves with this; it never enters .venv.
PIP_TOOLS := pip-tools==7.6.2

.PHONY: install serve test test-sqlite test-postgres test-packaging check dist zipapp docs image bench bench-smoke wrk redis chromium lock clean

install: $(STAMP) ## build .venv with patron and the dev tools (locked versions)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

serve: install ## serve the API on http://127.0.0.1:8000/api (SQLite file ./patron.db)
	$(BIN)/patron serve

test: test-sqlite test-postgres test-packaging ## run the whole test suite on SQLite, then on PostgreSQL 15, then the packaging tests

test-sqlite: install redis chromium ## the test suite on SQLite files
	$(BIN)/pytest
	$(BIN)/pytest -n 2 --confcutdir=tests/usage tests/usage

test-postgres: install redis chromium ## the test suite on a throwaway PostgreSQL cluster (needs initdb and pg_ctl)
	scripts/with-postgres.sh $(BIN)/pytest

test-packaging: install ## the wheel, the zipapp, the image and docs/ci.md, each in a fresh environment (builds what it needs)
	$(BIN)/pytest --confcutdir=tests/packaging tests/packaging

check: install ## lint, format check, types, import layering, migrations in step with the tables
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m patron.server.db.checkmigrations

# What `make dist` leaves: exactly one wheel and one sdist of the current version.
VERSION = $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' src/patron/__init__.py)
WHEEL = dist/patron-$(VERSION)-py3-none-any.whl

dist: install ## the sdist and the wheel in dist/ (python -m build with the locked setuptools, no download)
	rm -f dist/patron-*.whl dist/patron-*.tar.gz
	$(BIN)/python -m build --no-isolation --outdir dist .
	@test -f $(WHEEL) || { echo "make dist built no $(WHEEL)"; exit 1; }

zipapp: dist ## dist/patron.pyz: patron with the server extra in one file, for python3 3.11 to 3.13 (shiv; the lock's files, hash-checked)
	BIN=$(BIN) WHEEL=$(WHEEL) scripts/build-zipapp.sh dist/patron.pyz

docs: install ## API docs of patron.client, patron.wire and patron.testing from their docstrings, in build/apidocs/ (pdoc; no network needed to read them)
	rm -rf build/apidocs
	$(BIN)/pdoc --output-directory build/apidocs --docformat markdown --footer-text "patron $(VERSION)" patron.client patron.wire patron.testing
	@echo "open build/apidocs/index.html"

image: dist ## the container image (scripts/build-image.sh, Containerfile)
	scripts/build-image.sh

wrk: ## the load generator the benchmarks drive (Debian package)
	@command -v wrk >/dev/null || (apt-get install -y -q wrk >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null)) || { echo "wrk not found and could not be installed: apt-get install wrk"; exit 1; }

redis: ## the Redis server the shared rate limit tests start on loopback (Debian package)
	@command -v redis-server >/dev/null || (apt-get install -y -q redis-server >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q redis-server >/dev/null)) || { echo "redis-server not found and could not be installed: apt-get install redis-server"; exit 1; }

chromium: ## the headless browser the offline docs page test drives (Debian package)
	@command -v chromium >/dev/null || (apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)) || { echo "chromium not found and could not be installed: apt-get install chromium"; exit 1; }

bench: install wrk ## the benchmark suite at 1,000,000 customers, SQLite and PostgreSQL (results in bench/results/)
	$(BIN)/python bench/run.py

bench-smoke: install wrk ## the benchmark suite at 10,000 customers (about a minute; asserts nothing about speed)
	$(BIN)/python bench/run.py --customers 10000 --duration 2 --out bench/work/smoke

lock: ## re-resolve requirements.lock with hashes, keeping its pins (`make lock LOCK_ARGS=--upgrade` takes the newest)
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/python -m pip install --quiet --upgrade pip
	.lockenv/bin/python -m pip install --quiet $(PIP_TOOLS)
	@# setuptools and wheel from standard input: `pip install --no-build-isolation -e .` builds patron with them.
	printf 'setuptools\nwheel\n' | CUSTOM_COMPILE_COMMAND="make lock" .lockenv/bin/pip-compile --quiet \
		--generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
		--all-extras $(LOCK_ARGS) --output-file requirements.lock pyproject.toml -
	rm -rf .lockenv

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build dist
