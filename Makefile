# Every target sets itself up: the first run creates .venv from requirements-dev.txt, the exact,
# hash-checked lock of the runtime and the development tools (`make lock` recompiles the locks).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SOURCES := func.py backup_copy deploy devkit image tests

.DEFAULT_GOAL := help

# The lock's target: what the image runs (fnproject/python:3.11, Linux x86_64), whatever machine locks.
LOCK := $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--python-platform x86_64-unknown-linux-gnu --custom-compile-command "make lock"

.PHONY: help test lint types unit tests demo demo-queue invoke bench image-payload deploy-files lock clean

# pip checks every file against the lock's hashes (--require-hashes) and installs nothing unpinned.
$(STAMP): requirements.txt requirements-dev.txt
	@echo "Setting up $(VENV) from requirements-dev.txt (exact versions, hash-checked):" \
		"about 50 packages, about a minute the first time"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --require-hashes \
		-r requirements-dev.txt
	touch $(STAMP)

## lock: recompile requirements.txt and requirements-dev.txt from the .in files with uv (needs PyPI);
##       pins stay unless the .in files change them; UPGRADE=1 takes the newest versions they allow
lock: $(STAMP)
	$(LOCK) $(if $(UPGRADE),--upgrade) requirements.in -o requirements.txt
	$(LOCK) $(if $(UPGRADE),--upgrade) requirements-dev.in -o requirements-dev.txt

## test: lint, type-check and run every test (unit, gateway, function, stand-in, deploy)
test: lint types tests

lint: $(STAMP)
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)

types: $(STAMP)
	$(BIN)/mypy

tests: $(STAMP)
	@command -v openssl >/dev/null || { echo "make test needs the openssl command (the stand-in's and the image's CA directories: openssl rehash); install it (e.g. apt-get install openssl)"; exit 1; }
	$(BIN)/python -m devkit.payload --cached
	$(BIN)/python -m pytest

## unit: the fast tier only: fakes, no sockets, a few seconds
unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

## help: list the targets (the default)
help:
	@echo "backup-copy: make TARGET"
	@sed -n 's/^## \([a-z-]*\): /  \1\t/p' $(MAKEFILE_LIST) | expand -t 18

## demo: a sample event through the real fdk against the local OCI stand-in, then its redelivery
demo: $(STAMP)
	$(BIN)/python -m devkit.demo --redeliver events/boot-volume-backup-end.json

## demo-queue: OCI's copy limits on, two destinations: one copied now, one queued, then a sweep copies it
demo-queue: $(STAMP)
	$(BIN)/python -m devkit.demo --queue events/boot-volume-backup-end.json

## invoke: any event file through the function against the stand-in: make invoke EVENT=events/x.json
invoke: $(STAMP)
	$(BIN)/python -m devkit.demo $(EVENT)

## deploy-files: render IAM, the Events rule and the commands from your environment into build/deploy (ARGS=--example for the sample)
deploy-files: $(STAMP)
	$(BIN)/python -m deploy.render --out build/deploy $(ARGS)

## image-payload: the image's /python tree (pip install, image/trim_payload.py, image/ca_directory.py) into DEST: make image-payload DEST=dir
image-payload: $(STAMP)
	@test -n "$(DEST)" || { echo "usage: make image-payload DEST=dir"; exit 2; }
	$(BIN)/python -m devkit.payload $(DEST)

## bench: the event figures (payload, cold start paired with the floor, RSS, warm latency) and the sweep at scale (figures, not a test)
bench: $(STAMP)
	$(BIN)/python -m devkit.bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
