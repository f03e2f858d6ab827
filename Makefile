# Two commands for a new user:  make demo   and   make test
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
OUT    ?= runs/moons

.PHONY: demo test bench venv clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

venv: $(VENV)/bin/activate

demo: venv
	$(PIP) install --quiet -e '.[demo]'
	$(VENV)/bin/chainrule train --dataset moons --epochs 100 --out $(OUT)
	@echo "pictures: $(OUT)/boundary.png $(OUT)/loss.png $(OUT)/graph.svg"

test: venv
	$(PIP) install --quiet -e '.[test,oracle]'
	$(PY) -m pytest -n 2 tests engine --doctest-modules --nbmake notebooks

bench: venv
	$(PIP) install --quiet -e '.[bench,demo]'
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis runs
