"""Fixtures of the musicnn tests: the shipped networks, the recorded TensorFlow outputs, and musicnn's wheel.

The networks ship in the package, so the tests that only run them always run.
The tests that compare float32 conversions with TensorFlow (1e-4) or check that
the converter reproduces the shipped files need musicnn's wheel: it is
downloaded once with pip (``pip download musicnn==0.1.0 --no-deps``, 29 MB)
into pytest's cache folder, or taken from ``$GENREKIT_MUSICNN_WHEEL``; where
neither works, those tests skip and say why.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def musicnn_dir() -> Path:
    """The folder holding the networks genrekit ships (the package's own, unless GENREKIT_DATA has a conversion)."""
    from genrekit.musicnn.paths import MODELS, installed_models

    found = installed_models()
    missing = [m for m in MODELS if m not in found]
    assert not missing, f"the package should ship every musicnn network; missing {missing}"
    return found["MSD_musicnn"].parent


@pytest.fixture(scope="session")
def shipped_manifest(musicnn_dir) -> dict:
    return json.loads((musicnn_dir / "manifest.json").read_text())


def _load(name: str) -> dict:
    with np.load(DATA / name, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["meta"] = json.loads(str(arrays["meta"]))
    return arrays


@pytest.fixture(scope="session")
def reference() -> dict[str, np.ndarray]:
    """Inputs and TensorFlow outputs recorded by scripts/musicnn/record_reference.py (musicnn networks)."""
    return _load("reference.npz")


@pytest.fixture(scope="session")
def reference_vgg() -> dict[str, np.ndarray]:
    """TensorFlow outputs of the vgg networks on ``reference["mel"]`` (scripts/musicnn/record_reference.py)."""
    return _load("reference_vgg.npz")


@pytest.fixture(scope="session")
def wheel(request, tmp_path_factory) -> Path:
    """musicnn 0.1.0's wheel: $GENREKIT_MUSICNN_WHEEL, else pytest's cache, else downloaded there with pip.

    Without pytest's cache (``-p no:cacheprovider``) it is downloaded into a temporary folder instead.
    """
    from genrekit.errors import GenrekitError
    from genrekit.musicnn.installer import WHEEL_NAME, WHEEL_SHA256, download_wheel
    from genrekit.musicnn.manifest import sha256_file

    given = os.environ.get("GENREKIT_MUSICNN_WHEEL")
    if given:
        return Path(given)
    store = getattr(request.config, "cache", None)
    cache = Path(store.mkdir("musicnn-wheel")) if store is not None else tmp_path_factory.mktemp("musicnn-wheel")
    path = cache / WHEEL_NAME
    if path.is_file() and sha256_file(path) == WHEEL_SHA256:
        return path
    try:
        return download_wheel(cache)
    except GenrekitError as error:
        pytest.skip(f"musicnn's wheel is needed here and could not be downloaded ({error}); "
                    "set GENREKIT_MUSICNN_WHEEL to a copy of musicnn-0.1.0-py3-none-any.whl")


@pytest.fixture(scope="session")
def checkpoints(wheel, tmp_path_factory) -> dict[str, str]:
    """The four TensorFlow checkpoints, unpacked from the wheel (each file checked against its RECORD hash)."""
    from genrekit.musicnn.installer import extract_checkpoints
    from genrekit.musicnn.paths import MODELS

    return extract_checkpoints(wheel, tmp_path_factory.mktemp("wheel"), MODELS)


@pytest.fixture(scope="session")
def float32_weights(checkpoints, musicnn_dir) -> dict[str, dict[str, np.ndarray]]:
    """Each network's weights as the checkpoint holds them (float32), with the shipped mel filter bank."""
    from genrekit.musicnn.network_file import read_mel_basis
    from genrekit.musicnn.weights import convert_checkpoint

    mel = read_mel_basis(musicnn_dir / "mel_basis.npy")
    return {model: convert_checkpoint(prefix, model, mel=mel) for model, prefix in checkpoints.items()}


@pytest.fixture(scope="session")
def float32_nets(float32_weights) -> dict:
    """Each network built in memory from its float32 weights (what the shipped float16 files are measured against)."""
    from genrekit.musicnn.model import Musicnn

    return {model: Musicnn(weights, model) for model, weights in float32_weights.items()}


@pytest.fixture(scope="session")
def converted_dir(wheel, tmp_path_factory) -> Path:
    """The converter's output for the whole wheel, in a fresh folder (``genrekit models install musicnn``)."""
    from genrekit.musicnn.installer import install

    folder = tmp_path_factory.mktemp("converted")
    install(wheel, folder)
    return folder


@pytest.fixture(scope="session")
def msd(musicnn_dir):
    from genrekit.musicnn.model import load

    return load("MSD_musicnn", musicnn_dir)


@pytest.fixture(scope="session")
def mtt(musicnn_dir):
    from genrekit.musicnn.model import load

    return load("MTT_musicnn", musicnn_dir)


@pytest.fixture(scope="session")
def msd_vgg(musicnn_dir):
    from genrekit.musicnn.model import load

    return load("MSD_vgg", musicnn_dir)
