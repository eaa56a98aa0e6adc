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
# musicnn's four pretrained networks, converted from its PyPI wheel (no TensorFlow needed), ship in the
# package (committed); `make weights` converts the wheel again into the same folder (the same bytes).
MUSICNN_DIR := src/genrekit/data/models/musicnn
MUSICNN := $(MUSICNN_DIR)/manifest.json
GTZAN   ?= ../shared/gtzan

.PHONY: venv weights test demo model results benchmark train-cnn clean

# The package and what prediction needs.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e .
	@# byte-compiled now, as a wheel install is: an editable install compiles on first import instead,
	@# and on every start where PYTHONDONTWRITEBYTECODE is set (a tenth of a second of `genrekit predict`)
	$(PY) -m compileall -q src/genrekit >/dev/null
	rm -f $(VENV)/.installed-[0-9]*
	touch $@

# Plus pytest and torch (CPU build, for the CNN training tests).
$(DEV): $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev,train]'
	rm -f $(VENV)/.installed-dev-*
	touch $@

venv: $(STAMP)

weights: | $(STAMP)
	$(GENREKIT) models install musicnn --data-dir $(MUSICNN_DIR) --force

# Debian's chromium for the browser tests (tests/serve/test_browser.py; Playwright cannot download its own
# browsers here). Installed with apt-get where it is usable as root; elsewhere those tests skip.
CHROMIUM := $(VENV)/.chromium
$(CHROMIUM):
	@mkdir -p $(VENV)
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
		echo "chromium is missing and apt-get is unavailable or needs root: the browser tests will skip"; \
	else \
		DEBIAN_FRONTEND=noninteractive apt-get install -y chromium \
		|| { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; } \
		|| echo "chromium could not be installed: the browser tests will skip"; \
	fi
	@if command -v chromium >/dev/null 2>&1; then touch $@; fi

test: $(DEV) $(CHROMIUM)
	$(PY) -m pytest -q

demo: $(STAMP)
	$(GENREKIT) demo --report demo-report.html

# Retrain the two bundled models (default, accurate) from GTZAN by the rule in docs/results.md
# ("Two-way yardstick"), from docs/results-two-way.json (`make results`); refit on all labelled clips.
# A CNN needs torch, hence the dev extras.
model: $(DEV) $(MUSICNN)
	$(PY) scripts/train_bundled_model.py --gtzan $(GTZAN)

# Regenerate docs/results.md: the two-way yardstick (every candidate fit on train and scored on valid,
# and fit on valid and scored on train), then every classical model x feature set on the valid split.
# CNN_TRAIN: the CNN baseline fit on the train split (`make train-cnn INIT=musicnn SEED=0` writes it).
CNN_TRAIN ?= cnn-musicnn-seed0.genre
results: $(STAMP) $(MUSICNN)
	$(PY) scripts/two_way.py --gtzan $(GTZAN) --replaced src/genrekit/data/models/default.genre \
		$(if $(wildcard $(CNN_TRAIN)),--cnn-train $(CNN_TRAIN),)
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
