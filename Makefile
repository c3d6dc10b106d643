# Shortcuts; each target is one command from the README.
PY ?= .venv/bin/python

.PHONY: setup test test-slow lint study arm64-check

setup:
	python3 -m venv .venv && .venv/bin/pip install -q -e '.[train,dev]'

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

test: lint
	$(PY) -m pytest

test-slow:
	ECG_SHRINK_FUZZ_EXAMPLES=2000 $(PY) -m pytest -m "slow or not slow"

study:
	.venv/bin/compress study --out study-out

arm64-check:
	PYTHON=$(PY) bash tools/arm64_ci.sh
