# `make demo`: set up, index the shipped corpus and answer a question. `make test`: set up and run all tests.
VENV ?= .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1

DICTIONARY := /usr/share/dictd/freedict-eng-deu.index

.PHONY: setup demo test lint dictionaries

setup: $(VENV)/.installed dictionaries

# The English-German dictionary for English questions over German articles (read at run time, never copied).
# Installed where apt-get can (as root); without it Pitwall still runs and says so once.
dictionaries:
	@if [ -f $(DICTIONARY) ]; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && apt-get install -y -qq dict-freedict-eng-deu >/dev/null) \
		|| echo "make: could not install dict-freedict-eng-deu; English questions will match names only"; \
	else echo "make: no apt-get as root: install dict-freedict-eng-deu for English questions"; fi

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev,milvus,ray]'
	touch $@

demo: setup
	$(VENV)/bin/pitwall index
	$(VENV)/bin/pitwall ask "Is Alpine entering IMSA?"

# A real language-model server for the one end-to-end test against a real model (pip compiles llama.cpp,
# about 7.5 min on 2 cores); without it that test is skipped, saying why.
$(VENV)/.local-model: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[local-model]' \
		|| echo "make: could not install llama-cpp-python; the real-model test is skipped"
	touch $@

test: setup $(VENV)/.local-model
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
