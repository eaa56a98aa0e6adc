# Two commands set everything up on a fresh machine:
#   make demo   classify the example recordings with the bundled model
#   make test   run the test suite
# Both create .venv and install what they need into it.

PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
GENREKIT := $(VENV)/bin/genrekit
HASH    := $(shell cksum < pyproject.toml | cut -d' ' -f1)
STAMP   := $(VENV)/.installed-$(HASH)
DEV     := $(VENV)/.installed-dev-$(HASH)
# musicnn's pretrained weights, converted from its PyPI wheel (no TensorFlow needed).
MUSICNN_DIR := src/genrekit/data/models/musicnn
MUSICNN := $(MUSICNN_DIR)/manifest.json
GTZAN   ?= ../shared/gtzan

.PHONY: venv weights test demo model results benchmark train-cnn clean

# The package and what prediction needs.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e .
	rm -f $(VENV)/.installed-[0-9]*
	touch $@

# Plus pytest and torch (CPU build, for the CNN training tests).
$(DEV): $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev,train]'
	rm -f $(VENV)/.installed-dev-*
	touch $@

venv: $(STAMP)

$(MUSICNN): | $(STAMP)
	$(GENREKIT) models install musicnn --data-dir $(MUSICNN_DIR)

weights: $(MUSICNN)

test: $(DEV) $(MUSICNN)
	$(PY) -m pytest -q

demo: $(STAMP)
	$(GENREKIT) demo --report demo-report.html

# Retrain the bundled model from GTZAN (see docs/results.md for why this one;
# a CNN needs torch, hence the dev extras).
model: $(DEV) $(MUSICNN)
	$(PY) scripts/train_bundled_model.py --gtzan $(GTZAN)

# Regenerate docs/results.md: every model x feature set on GTZAN's valid split.
results: $(STAMP) $(MUSICNN)
	$(PY) scripts/compare_models.py --gtzan $(GTZAN) -j 2

benchmark: $(STAMP)
	$(PY) benchmarks/features.py
	$(PY) benchmarks/features_cli.py
	$(PY) benchmarks/engine.py
	$(PY) benchmarks/hostile_memory.py

# Full CNN training runs (4-17 min each on 2 cores), recorded in docs/results.md:
# INIT=scratch|musicnn SEED=0
INIT ?= scratch
SEED ?= 0
train-cnn: $(DEV) $(MUSICNN)
	$(PY) scripts/train_cnn.py $(GTZAN) --init $(INIT) --seed $(SEED) --threads 2 \
		--out cnn-$(INIT)-seed$(SEED).genre --results docs/results-cnn.json
	$(PY) scripts/cnn_results.py render

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
