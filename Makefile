# Every target sets itself up: the first run creates .venv from the pinned requirements.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SOURCES := func.py backup_copy deploy devkit image tests

.PHONY: test lint types unit tests demo demo-queue invoke bench image-payload deploy-files clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

## test: lint, type-check and run every test (unit, gateway, function, stand-in, deploy)
test: lint types tests

lint: $(STAMP)
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)

types: $(STAMP)
	$(BIN)/mypy

tests: $(STAMP)
	$(BIN)/python -m pytest

## unit: the fast tier only: fakes, no sockets, a few seconds
unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

## demo: run the function through the real fdk against the local OCI stand-in
demo: $(STAMP)
	$(BIN)/python -m devkit.demo events/boot-volume-backup-end.json

## demo-queue: OCI's copy limits on, two destinations: one copied now, one queued, then a sweep copies it
demo-queue: $(STAMP)
	$(BIN)/python -m devkit.demo --queue events/boot-volume-backup-end.json

## invoke: the same, for any event file: make invoke EVENT=events/x.json
invoke: $(STAMP)
	$(BIN)/python -m devkit.demo $(EVENT)

## deploy-files: render IAM, the Events rule and the commands from your environment into build/deploy (ARGS=--example for the sample)
deploy-files: $(STAMP)
	$(BIN)/python -m deploy.render --out build/deploy $(ARGS)

## image-payload: the image's /python tree (pip install, then image/trim_payload.py) into DEST: make image-payload DEST=dir
image-payload: $(STAMP)
	@test -n "$(DEST)" || { echo "usage: make image-payload DEST=dir"; exit 2; }
	$(BIN)/python -m devkit.payload $(DEST)

## bench: payload size, cold start against the floor, peak RSS and warm overhead (figures, not a test)
bench: $(STAMP)
	$(BIN)/python -m devkit.bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
