"""Fixtures of the musicnn tests: the converted weights and the recorded TensorFlow reference.

The weights come from ``genrekit models install musicnn`` (``make test`` runs it
first). Parity with musicnn is a core promise, so these tests fail, rather than
skip, when the weights are missing.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def musicnn_dir() -> Path:
    """The folder holding the converted MSD_musicnn and MTT_musicnn weights."""
    from genrekit.musicnn.paths import MODELS, install_dir, installed_models

    found = installed_models()
    missing = [m for m in MODELS if m not in found]
    if missing:
        pytest.fail(
            f"musicnn weights {', '.join(missing)} not installed in {install_dir()}: "
            "run `genrekit models install musicnn` (make test does this first; set GENREKIT_DATA to use another folder)"
        )
    return found["MSD_musicnn"].parent


@pytest.fixture(scope="session")
def reference() -> dict[str, np.ndarray]:
    """Inputs and TensorFlow outputs recorded by scripts/musicnn/record_reference.py."""
    with np.load(DATA / "reference.npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["meta"] = json.loads(str(arrays["meta"]))
    return arrays


@pytest.fixture(scope="session")
def msd(musicnn_dir):
    from genrekit.musicnn.model import load

    return load("MSD_musicnn", musicnn_dir)


@pytest.fixture(scope="session")
def mtt(musicnn_dir):
    from genrekit.musicnn.model import load

    return load("MTT_musicnn", musicnn_dir)
