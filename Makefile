# Every target installs what it needs: a fresh clone only needs Python 3.11 and make.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
PIP := $(BIN)/pip install --quiet --disable-pip-version-check
export PYTHONPATH := $(CURDIR)/layers/domain:$(CURDIR)/functions/api:$(CURDIR)/functions/sweeper:$(CURDIR)/functions/stream:$(CURDIR)/functions/erp:$(CURDIR)/functions/events:$(CURDIR)

ENGINE ?= moto
PORT ?= 3000
# The engine's port: the README's examples use it. 0: any free port.
ENGINE_PORT ?= 41873
FN ?= api
EVENT ?= events/get_inventory.json
CHANNEL ?= storefront
# xdist workers for make test: each is a pytest session with its own engines (CI has 2 cores).
TEST_WORKERS ?= 2
SCOPES ?= reservations/read reservations/write inventory/read

.PHONY: lambda-python build-DomainLayer build-ApiFunction build-SweeperFunction build-StreamFunction build-ErpFunction build-EventsFunction help install engines system-deps sam-tools run invoke events erp-send token drift recompute-supply events-gen events-check test unit lint format typecheck sam-validate sam-build console-screenshots bench mutation clean

help:
	@echo "make run      serve the API on http://127.0.0.1:$(PORT) (ENGINE=moto|dynamodb-local, ENGINE_PORT=$(ENGINE_PORT))"
	@echo "make test     lint, type-check and run every test suite (moto and DynamoDB Local)"
	@echo "make invoke   FN=api EVENT=events/<file>.json: one event through a handler"
	@echo "make events   follow the local event bus (after the export line make run prints)"
	@echo "make erp-send ENDPOINT=... QUEUE=... BODY='{...}': one ERP message to the local queue"
	@echo "make token    CHANNEL=<name> SCOPES=\"...\": a token the local stack accepts"
	@echo "make drift    recompute the stock counters from the holds (AWS=1: a deployed table)"
	@echo "make recompute-supply [DRY_RUN=1] [START_AFTER=token]: available under a new formula"
	@echo "make events-gen / events-check   write events/*.json, or fail if one differs"
	@echo "make bench    benchmarks, figures for docs/performance.md"
	@echo "make mutation [MODULES=...] [KEEP=1 | LIVE=1 | RESUME=1] [WORKERS=2]: mutation scores in docs/testing.md"

# Progress goes to stderr: `make -s invoke ... | jq` must see the handler's result alone,
# even on the run that installs.
$(BIN)/python:
	@echo "creating $(VENV) ..." >&2
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip >&2

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "installing the project's dependencies into $(VENV) (a minute or so the first time) ..." >&2
	$(PIP) -e ".[dev]" >&2
	touch $@

install: $(VENV)/.installed

# Java 17 and npm for DynamoDB Local; installed with apt-get where we are root.
system-deps:
	@bash local/system_deps.sh

engines: install system-deps
	$(BIN)/python -m local.fetch_engines

# Its own venv: aws-sam-cli pins many packages. PYTHONPATH is dropped for every SAM command,
# so neither pip nor SAM sees the project's sources.
$(SAM_VENV)/.installed:
	@echo "installing the SAM CLI and cfn-lint into $(SAM_VENV) (once, a minute or two) ..." >&2
	$(PYTHON) -m venv $(SAM_VENV)
	env -u PYTHONPATH $(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check "aws-sam-cli>=1.120" "cfn-lint>=1.10"
	touch $@

sam-tools: $(SAM_VENV)/.installed

run: install
	$(BIN)/python -m local.run --engine $(ENGINE) --port $(PORT) --engine-port $(ENGINE_PORT)

# The handler's result alone goes to stdout: `make -s invoke ... | jq`.
invoke: install
	$(BIN)/python -m local.invoke $(FN) $(EVENT)

# Follows the local bus (the export line make run prints), one line per event.
events: install
	$(BIN)/python -m local.follow_events

erp-send: install
	$(BIN)/python -m local.erp_send --endpoint '$(ENDPOINT)' --queue '$(QUEUE)' --body '$(BODY)' $(if $(GROUP),--group '$(GROUP)')

# Signed with the local development key (.cache/local-auth/, created on first use).
token: install
	@$(BIN)/python -m local.auth --channel "$(CHANNEL)" --scopes "$(SCOPES)"

# 0 clean; the check exits 1 on drift and 2 when it could not check (make says "Error 1/2").
drift: install
	@$(BIN)/python -m local.drift $(if $(AWS),--aws)

# 0 every record right; 1 some were busy (run again); 2 it could not run, as drift.
recompute-supply: install
	@$(BIN)/python -m local.recompute_supply $(if $(AWS),--aws) $(if $(START_AFTER),--start-after $(START_AFTER)) $(if $(DRY_RUN),--dry-run)

events-gen: install
	@$(BIN)/python -m local.make_events

events-check: install
	@$(BIN)/python -m local.make_events --check

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest tests/unit -q

test: install engines sam-tools lint typecheck
	$(BIN)/pytest -q -n $(TEST_WORKERS)

# The console's screenshots in docs/console.md, taken by its browser test.
console-screenshots: install engines
	CONSOLE_SCREENSHOTS=docs/console $(BIN)/pytest tests/browser -q

sam-validate: sam-tools
	env -u PYTHONPATH SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint --region us-east-1
	env -u PYTHONPATH $(SAM_VENV)/bin/cfn-lint template.yaml

# Into .aws-sam/build (cached, samconfig.toml), what `sam deploy` then uploads.
sam-build: sam-tools
	env -u PYTHONPATH SAM_CLI_TELEMETRY=0 PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" $(SAM_VENV)/bin/sam build --region us-east-1

# sam build's recipes (template.yaml: BuildMethod makefile, ContextPath .). SAM runs each in
# a scratch copy of the resource's CodeUri/ContentUri and collects $(ARTIFACTS_DIR). They
# install what SAM's python3.11 builder installed and also ship compiled bytecode: Lambda's
# /opt and /var/task are read-only, so a module without a usable .pyc is compiled again at
# every cold start (twice the API's init time; docs/performance.md, section 3). Hash-based
# .pyc files that are never checked against the source: the zip that `sam deploy` uploads
# keeps mtimes only to 2 s, which would make timestamp-based ones look stale, and the code
# in a Lambda never changes. They are byte-for-byte reproducible, too.
LAMBDA_PYTHON := python3.11
LAMBDA_WHEELS := --platform manylinux2014_x86_64 --implementation cp --python-version 3.11 --only-binary=:all:
COMPILE_BYTECODE := env -u PYTHONPATH $(LAMBDA_PYTHON) -m compileall -q -f -j 0 --invalidation-mode unchecked-hash

lambda-python:
	@$(LAMBDA_PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "$(LAMBDA_PYTHON) is not CPython 3.11, the runtime whose bytecode the build ships")'

build-DomainLayer: lambda-python
	env -u PYTHONPATH $(LAMBDA_PYTHON) -m pip install --quiet --disable-pip-version-check --no-compile $(LAMBDA_WHEELS) --target "$(ARTIFACTS_DIR)/python" -r requirements.txt
	cp -R reservations "$(ARTIFACTS_DIR)/python/"
	find "$(ARTIFACTS_DIR)/python" -name __pycache__ -prune -exec rm -rf {} +
	$(COMPILE_BYTECODE) "$(ARTIFACTS_DIR)/python"

build-ApiFunction build-SweeperFunction build-StreamFunction build-ErpFunction build-EventsFunction: lambda-python
	cp *.py "$(ARTIFACTS_DIR)/"
	if [ -d console ]; then cp -R console "$(ARTIFACTS_DIR)/"; fi  # the operator console's files
	$(COMPILE_BYTECODE) "$(ARTIFACTS_DIR)"

bench: engines sam-tools
	$(BIN)/python -m bench

# mutmut over the domain layer against the fast tiers (tests/mutation, docs/testing.md).
# CPU-heavy and slow, so not part of `make test`. MODULES as named in the table (default:
# the target modules; `all`: every one); KEEP=1 reuses the last run's test map and results;
# LIVE=1 also runs again only the mutants that lived (after tests were only added).
WORKERS ?= 2
mutation: install
	$(BIN)/python -m tests.mutation run $(if $(KEEP),--keep) $(if $(LIVE),--live) $(if $(RESUME),--resume) --workers $(WORKERS) $(MODULES)

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .mutation
