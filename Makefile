# Two commands from a fresh clone: `make demo` (the main job) and `make test` (every test).
# Every target sets up what it needs and is quick when already set up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PYTHONPATH := $(CURDIR)

.PHONY: setup demo test test-years-ahead test-unit test-integration test-e2e run call lint fmt bench clean synth deploy destroy soak lock

setup: $(VENV)/.stamp-deps node_modules/.stamp-npm .local/.stamp-java

# Every Python package, transitive ones included, comes from a lock with hashes: requirements.txt
# (what Lambda ships), requirements-dev.txt (that plus the local stack, tests and lint; pip and uv
# too) and requirements-infra.txt (the CDK app). `make lock` makes them from the *.in files. The
# locks are complete, so pip installs exactly them: hashes required, no resolving of its own.
PIP_INSTALL := $(PY) -m pip install -q --require-hashes --no-deps

$(VENV)/.stamp-deps: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements-dev.txt
	touch $@

# The CDK app and its offline checks (infra/, tests/infra): same venv, installed on top.
$(VENV)/.stamp-infra: $(VENV)/.stamp-deps requirements-infra.txt
	$(PIP_INSTALL) -r requirements-infra.txt
	touch $@

# After editing a requirements*.in, `make lock` updates the locks and keeps every other pin;
# `make lock LOCK_FLAGS=--upgrade` also moves the unpinned (transitive) packages to their newest
# versions, LOCK_FLAGS="--upgrade-package NAME" one of them. Each lock is made for every platform
# from Python 3.11 on (markers, hashes of every published file: Lambda's Python 3.11 on x86_64
# Linux included). The dev lock is constrained by requirements.txt and the infra lock by the dev
# lock, so a package the three share has one version in the one venv.
UV ?= $(VENV)/bin/uv
LOCK_FLAGS ?=
UV_COMPILE = $(UV) pip compile -q --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" $(LOCK_FLAGS)
lock: $(VENV)/.stamp-deps
	$(UV_COMPILE) requirements.in -o requirements.txt
	$(UV_COMPILE) requirements-dev.in -o requirements-dev.txt
	$(UV_COMPILE) requirements-infra.in -o requirements-infra.txt
	$(UV_COMPILE) requirements-checkov.in -o requirements-checkov.txt

# checkov (the infrastructure scan of tests/infra/test_checkov.py) in a venv of its own: its
# dependencies are many and pinned apart from the app's (requirements-checkov.txt, hashes too).
CHECKOV_VENV := .local/checkov
$(CHECKOV_VENV)/.stamp: requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --require-hashes --no-deps -r requirements-checkov.txt
	touch $@

node_modules/.stamp-npm: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# DynamoDB Local needs a Java runtime; install Debian's when the machine has none.
.local/.stamp-java:
	mkdir -p .local
	command -v java >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless)
	java -version 2>&1 | head -1
	touch $@

# Browser tests (the agent page, the report's rendering) use Debian's headless Chromium.
.local/.stamp-chromium:
	mkdir -p .local
	command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver)
	chromium --version 2>/dev/null | head -1
	touch $@

demo: setup
	$(PY) -m devtools.demo

# Prints how long it took, setup included (target: under 20 minutes on 2 cores).
test:
	@started=$$(date +%s); $(MAKE) --no-print-directory setup $(VENV)/.stamp-infra .local/.stamp-chromium $(CHECKOV_VENV)/.stamp \
	  && $(PY) -m pytest -n 2 --dist loadgroup tests; status=$$?; \
	  echo "make test: $$(( $$(date +%s) - started )) s"; exit $$status

# The whole suite with every process's clock (Python, DynamoDB Local's JVM, Chromium) a year
# ahead: Debian's faketime. Setup runs first at the real date (TLS to the registries needs it).
YEARS_AHEAD ?= 1
test-years-ahead: setup $(VENV)/.stamp-infra .local/.stamp-chromium $(CHECKOV_VENV)/.stamp .local/.stamp-faketime
	FAKETIME_DONT_FAKE_MONOTONIC=1 PYTHONPATH=$(CURDIR)/devtools/years_ahead \
		faketime -f '+$(shell echo $$(( $(YEARS_AHEAD) * 365 )))d' $(PY) -m pytest -n 2 --dist loadgroup tests

.local/.stamp-faketime:
	mkdir -p .local
	command -v faketime >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime)
	touch $@

test-unit: setup
	$(PY) -m pytest tests/unit

test-integration: setup
	$(PY) -m pytest tests/integration

test-e2e: setup .local/.stamp-chromium
	$(PY) -m pytest tests/e2e

# make run [CONFIG=config/mine.toml]: the stand-in, or real Twilio when .env (or the environment)
# gives TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and a tunnel's PUBLIC_BASE_URL (README: Real Twilio calls).
run: setup
	$(PY) -m devtools.stack --port $(PORT) $(if $(CONFIG),--config $(CONFIG))

# make call [FROM=+380671112233] [TO=+380441234567] [DIGITS=1,2] [SPEECH="..."]: against `make run`
# when it serves, else on a throwaway local stack.
call: setup
	$(PY) -m devtools.call $(if $(FROM),--from $(FROM)) $(if $(TO),--to $(TO)) $(if $(DIGITS),--digits $(DIGITS)) $(if $(SPEECH),--speech "$(SPEECH)")

lint: setup $(VENV)/.stamp-infra
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy app.py chalicelib cli devtools tests bench infra
	$(VENV)/bin/lint-imports --no-cache

fmt: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Every benchmark, then the dialer grid; results in bench/results/, the whole run's time last
# (bench/results/run.json; target: under 15 minutes).
bench: setup
	$(PY) -m bench.run --dialer-grid

clean:
	rm -rf $(VENV) node_modules .local outbox cdk.out chalice.out

# ---- AWS (infra/README.md) -----------------------------------------------------------------
# Settings come from infra/cdk.json's "context" and CONTEXT="key=value key=value" on the command
# line; e.g. make deploy CONTEXT="twilio_account_sid=AC... ses_identities=shop.example".
# The CDK CLI is the npm package aws-cdk, locked in package-lock.json like the rest.
CDK_CLI ?= node_modules/.bin/cdk
CDK_CONTEXT = $(foreach pair,$(CONTEXT),-c $(pair))

# Writes the CloudFormation template and the Lambda package to cdk.out/, offline (the package takes
# the agent page's Voice SDK from node_modules/, so npm ci comes first).
synth: $(VENV)/.stamp-infra node_modules/.stamp-npm
	$(PY) -m infra.app $(CDK_CONTEXT)

# Deploys exactly what synth wrote (cdk.out/) with the account and region of your AWS credentials.
deploy: $(VENV)/.stamp-infra node_modules/.stamp-npm
	$(PY) -m infra.app --deployable $(CDK_CONTEXT)
	$(CDK_CLI) deploy --app cdk.out --all $(DEPLOY_FLAGS)

# Removes the stack; the tables are kept unless deployed with retain_data=false (see infra/README.md).
destroy: $(VENV)/.stamp-infra node_modules/.stamp-npm
	$(PY) -m infra.app $(CDK_CONTEXT)
	$(CDK_CLI) destroy --app cdk.out --all

# The fault-injection soak at its large size (the quick size runs in `make test`): prints the figures.
soak: setup
	$(PY) -m devtools.soak --orders 10000 --customers 300
