# Two commands from a fresh clone: `make demo` (the main job) and `make test` (every test).
# Every target sets up what it needs and is quick when already set up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PYTHONPATH := $(CURDIR)

.PHONY: setup demo test test-unit test-integration test-e2e run call lint fmt bench clean

setup: $(VENV)/.stamp-deps node_modules/.stamp-npm .local/.stamp-java

$(VENV)/.stamp-deps: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

node_modules/.stamp-npm: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

# DynamoDB Local needs a Java runtime; install Debian's when the machine has none.
.local/.stamp-java:
	mkdir -p .local
	command -v java >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless)
	java -version 2>&1 | head -1
	touch $@

demo: setup
	$(PY) -m devtools.demo

test: setup
	$(PY) -m pytest -n 2 --dist loadgroup tests

test-unit: setup
	$(PY) -m pytest tests/unit

test-integration: setup
	$(PY) -m pytest tests/integration

test-e2e: setup
	$(PY) -m pytest tests/e2e

run: setup
	$(PY) -m devtools.stack --port $(PORT)

# make call [FROM=+380671112233] [TO=+380441234567] [DIGITS=1,2] [SPEECH="..."]: against `make run`
# when it serves, else on a throwaway local stack.
call: setup
	$(PY) -m devtools.call $(if $(FROM),--from $(FROM)) $(if $(TO),--to $(TO)) $(if $(DIGITS),--digits $(DIGITS)) $(if $(SPEECH),--speech "$(SPEECH)")

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy app.py chalicelib cli devtools tests bench

fmt: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) node_modules .local outbox
