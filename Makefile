# Set-up, demo, tests and benchmarks. Every target installs what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := ffmpeg chromium fonts-dejavu-core

.PHONY: setup system-deps node-deps demo test lint typecheck pytest bench bench-deps clean

setup: $(VENV)/.installed

# The devkit (stand-ins, synthetic scenes; devkit/) is a separate package that the wheel never ships;
# an extra cannot name a path, so it is installed here, editable, beside the main package.
$(VENV)/.installed: pyproject.toml devkit/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -e devkit
	touch $@

# ffmpeg (scene frames) and chromium (plugin tests) come from Debian.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

node-deps: plugin/tests/node_modules/.installed

plugin/tests/node_modules/.installed: plugin/tests/package.json plugin/tests/package-lock.json
	cd plugin/tests && npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: setup system-deps
	$(BIN)/python -m stash_sense.demo

lint: setup
	$(BIN)/ruff check src devkit tests bench
	$(BIN)/ruff format --check src devkit tests bench
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

pytest: setup system-deps node-deps
	$(BIN)/pytest -q --durations=15

test: lint typecheck pytest

bench-deps: setup
	$(BIN)/pip install --quiet 'Click>=6.0'
	$(BIN)/pip install --quiet --no-deps 'face_recognition==1.3.0'

bench: bench-deps system-deps
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) demo-output bench/work plugin/tests/node_modules
