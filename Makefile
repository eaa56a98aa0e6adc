# Two commands set everything up on a fresh machine:
#   make demo   classify the example recordings with the bundled model
#   make test   run the test suite
# Both create .venv and install what they need into it.

PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
GENREKIT := $(VENV)/bin/genrekit
STAMP   := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
# musicnn's pretrained weights, converted from its PyPI wheel (no TensorFlow needed).
MUSICNN_DIR := src/genrekit/data/models/musicnn
MUSICNN := $(MUSICNN_DIR)/manifest.json
GTZAN   ?= ../shared/gtzan

.PHONY: venv weights test demo model results benchmark clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

$(MUSICNN): | $(STAMP)
	$(GENREKIT) models install musicnn --data-dir $(MUSICNN_DIR)

weights: $(MUSICNN)

test: $(STAMP) $(MUSICNN)
	$(PY) -m pytest -q

demo: $(STAMP) $(MUSICNN)
	$(GENREKIT) demo --report demo-report.html

# Retrain the bundled model from GTZAN (see docs/results.md for why this one).
model: $(STAMP) $(MUSICNN)
	$(PY) scripts/train_bundled_model.py --gtzan $(GTZAN)

# Regenerate docs/results.md: every model x feature set on GTZAN's valid split.
results: $(STAMP) $(MUSICNN)
	$(PY) scripts/compare_models.py --gtzan $(GTZAN) -j 2

benchmark: $(STAMP)
	$(PY) benchmarks/features.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
