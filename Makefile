# Two commands set everything up on a fresh machine:
#   make demo   classify the example recordings with the bundled model
#   make test   run the test suite
# Both create .venv and install what they need into it.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: venv test demo benchmark clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

demo: $(STAMP)
	$(VENV)/bin/genrekit features examples --out demo-features.parquet

benchmark: $(STAMP)
	$(PY) benchmarks/features.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
