# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
# test processes (pytest-xdist): one per core; TEST_WORKERS=0 runs in this process
TEST_WORKERS ?= auto

.PHONY: demo test install clean

$(BIN)/shine: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(BIN)/shine

install: $(BIN)/shine

# the demo trial includes one past the interim (SHINE_DEMO_INTERIM=0 leaves it out: a faster load)
demo: install
	SHINE_DEMO_INTERIM=$${SHINE_DEMO_INTERIM:-1} $(BIN)/shine demo
	$(BIN)/shine serve --port $(PORT)

test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var
