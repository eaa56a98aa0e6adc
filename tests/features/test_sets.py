"""The registry of built-in sets, and what extraction may import (genrekit.features.sets)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from genrekit.errors import ConfigError

from synth import white_noise
from genrekit.features import available_feature_sets, get_feature_set

SR = 22050


def test_builtin_sets_are_registered():
    assert {"seed", "gtzan57", "default"} <= set(available_feature_sets())
    assert len(get_feature_set("seed").columns) == 44
    assert len(get_feature_set("gtzan57").columns) == 57
    assert len(get_feature_set("gtzan57", hpss=False).columns) == 53
    with pytest.raises(ConfigError, match="feature set"):
        get_feature_set("seed", hpss=False)


@pytest.mark.parametrize("name,options", [("seed", {}), ("gtzan57", {"hpss": False}), ("default", {})])
def test_every_set_fulfils_the_contract(name, options):
    fs = get_feature_set(name, **options)
    row = fs.extract(white_noise(3.0), SR)
    assert row.dtype == np.float64 and row.shape == (len(fs.columns),) and np.isfinite(row).all()
    assert fs.name == name and fs.version
    json.dumps(fs.config())
    assert len(set(fs.column_names)) == len(fs.column_names)
    assert all(c.name.isidentifier() and c.description and "\n" not in c.description for c in fs.columns)
    with pytest.raises(ValueError, match="resample"):
        fs.extract(white_noise(1.0), 16000)
    with pytest.raises(ValueError, match="empty"):
        fs.extract(np.zeros(0, np.float32), SR)


_PROBE = """
import json, sys, time
import numpy as np
import genrekit.features
from genrekit.features import get_feature_set
imported = sorted(m for m in sys.modules if m.split('.')[0] in ('librosa', 'numba') or m.startswith('scipy.signal'))
y = np.random.default_rng(0).uniform(-0.5, 0.5, 3 * 22050).astype(np.float32)
for name in ('seed', 'default'):
    get_feature_set(name).extract(y, 22050)
after = sorted(m for m in sys.modules if m.split('.')[0] in ('librosa', 'numba') or m.startswith('scipy.signal'))
print(json.dumps({'on_import': imported, 'after_extract': after}))
"""


def test_extracting_seed_and_default_imports_neither_librosa_nor_numba(tmp_path):
    # a fresh process with an empty numba cache: any jitted call would show up as numba in sys.modules
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report == {"on_import": [], "after_extract": []}
