# The two set-up commands: `make run` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test check bench install install-test clean

$(BIN)/keyhall: pyproject.toml
	bash scripts/system-deps.sh --runtime
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test-installed: $(BIN)/keyhall
	bash scripts/system-deps.sh
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(BIN)/keyhall
install-test: $(VENV)/.test-installed

run: install
	$(BIN)/keyhall serve

check: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: check
	$(BIN)/pytest -n 2 --dist loadfile --durations=15

bench: install-test
	$(BIN)/python bench/directory.py
	$(BIN)/python -m bench.ldap
	$(BIN)/python bench/transfer.py
	$(BIN)/python -m bench.web
	$(BIN)/python -m bench.admin
	$(BIN)/python -m bench.sync
	$(BIN)/python -m bench.oidc

clean:
	rm -rf $(VENV) keyhall-data
