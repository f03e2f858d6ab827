# Two commands for a new user:  make demo   and   make test
PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
OUT     ?= runs/moons
# CPythons `make test` runs the suite on (found through pyenv or as python3.X); e.g. PYTHONS=3.11
PYTHONS ?= 3.9 3.10 3.11 3.12 3.13

.PHONY: demo test bench notebook venv clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

venv: $(VENV)/bin/activate

demo: venv
	$(PIP) install --quiet -e '.[demo]'
	$(VENV)/bin/chainrule train --dataset moons --epochs 100 --out $(OUT)
	@echo "pictures: $(OUT)/boundary.png $(OUT)/loss.png $(OUT)/graph.svg"

# The whole suite (tests, doctests, notebooks) on $(VENV)'s Python, then in a
# .venv-3.X per other version in PYTHONS; see scripts/test_pythons.py.
test: venv
	$(PIP) install --quiet -e '.[test,oracle]'
	$(PY) scripts/test_pythons.py $(PYTHONS)

# JupyterLab on notebooks/ (the way in: see README "Learn")
notebook: venv
	$(PIP) install --quiet -e '.[notebook]'
	$(VENV)/bin/jupyter lab notebooks

bench: venv
	$(PIP) install --quiet -e '.[bench,demo]'
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) .venv-3.* build dist *.egg-info .pytest_cache .hypothesis runs
