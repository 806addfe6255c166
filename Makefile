# 退订助手: make demo | make test | make train | make run | make seed | make bench
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
RASA_PORT ?= 5005
ACTION_PORT ?= 5055
CORS_ORIGINS ?= *
# Where make run / make demo listen (Rasa; the action server: ACTION_HOST, same default).
# Rasa's HTTP API is on only when RASA_API_TOKEN is set; DEPLOY_ENV=production checks every
# secret first and exits non-zero naming the unfit ones (docs/deployment.md).
HOST ?= 127.0.0.1
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

.PHONY: install browser-deps demo test lint train run seed bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || { py=$$(tools/find_python.sh) && "$$py" -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	@# opencc-python-reimplemented (used before) and the official opencc both install the module
	@# `opencc`: remove both so that the official one is installed whole.
	@if $(PY) -m pip show -q opencc-python-reimplemented >/dev/null 2>&1; then \
		$(PY) -m pip uninstall -y -q opencc-python-reimplemented opencc; fi
	$(PY) -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

# The browser tests' Chromium, CJK fonts and rasa-webchat (Debian packages need root: CI has it;
# elsewhere install them yourself, or the browser tests skip with the reason).
browser-deps:
	@dpkg -s chromium fonts-noto-cjk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -q && apt-get install -y -q chromium fonts-noto-cjk; } || echo "browser tests: install chromium and fonts-noto-cjk (apt-get) to run them"
	@command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -q nodejs npm; } || echo "browser tests: install nodejs and npm to run the rasa-webchat test"
	@if command -v npm >/dev/null; then cd tests/browser && npm ci --no-audit --no-fund --loglevel=error; fi

train: install
	$(RASA) train --out models

seed: install
	$(PY) -m core.store.seed $(ARGS)

run: install
	@ls models/*.tar.gz >/dev/null 2>&1 || { echo "No model in models/: run 'make train' first." >&2; exit 1; }
	HOST='$(HOST)' RASA_PORT=$(RASA_PORT) ACTION_PORT=$(ACTION_PORT) CORS_ORIGINS='$(CORS_ORIGINS)' $(PY) -m tools.serve

demo: install train seed
	@echo "Chat page: http://$(HOST):$(RASA_PORT)/chat"
	@echo "REST: POST http://$(HOST):$(RASA_PORT)/webhooks/rest/webhook  {\"sender\": \"me\", \"message\": \"你好\"}"
	HOST='$(HOST)' RASA_PORT=$(RASA_PORT) ACTION_PORT=$(ACTION_PORT) CORS_ORIGINS='$(CORS_ORIGINS)' $(PY) -m tools.serve

lint: install
	$(VENV)/bin/ruff check actions core nlu catalog channels rasa_patches rasa_plugins rasa_fixes redaction tools turns stack evaluation bench tests

test: install train lint browser-deps
	$(RASA) data validate --fail-on-warnings
	$(VENV)/bin/pytest

bench: install train
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) -m bench.run $(ARGS)

clean:
	rm -rf var models .pytest_cache .ruff_cache
