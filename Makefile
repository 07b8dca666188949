# `make demo`: set up, index the shipped corpus and answer a question. `make test`: set up and run all tests.
VENV ?= .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1

.PHONY: setup demo test lint

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev,milvus,ray]'
	touch $@

demo: setup
	$(VENV)/bin/pitwall index
	$(VENV)/bin/pitwall ask "Is Alpine entering IMSA?"

test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
