"""Fixtures shared by the whole suite: real data where present, synthetic audio always."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from synth import sine, white_noise  # noqa: F401  (re-exported for tests)

REPO = Path(__file__).resolve().parents[1]
GTZAN_ROOT = REPO.parent / "shared" / "gtzan"
EXAMPLES_DIR = REPO / "src" / "genrekit" / "data" / "examples"


@pytest.fixture(scope="session")
def gtzan_root() -> Path:
    """The GTZAN development subset beside the checkout; tests using it skip where it is absent."""
    if not (GTZAN_ROOT / "manifest.csv").is_file():
        pytest.skip(f"GTZAN subset not found at {GTZAN_ROOT} (it is not shipped with genrekit); skipping")
    return GTZAN_ROOT


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    """The four freely licensed example recordings shipped in the package."""
    return EXAMPLES_DIR


@pytest.fixture
def write_audio(tmp_path: Path) -> Callable[..., Path]:
    """Write a signal to ``tmp_path/name`` in the format its ending names; returns the path."""
    import soundfile as sf

    def _write(name: str, y: np.ndarray, sr: int = 22050, **kwargs) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), y, sr, **kwargs)
        return path

    return _write


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the suite's feature caches out of the user's ~/.cache."""
    import os

    os.environ["GENREKIT_CACHE"] = str(tmp_path_factory.mktemp("genrekit-cache"))


@pytest.fixture(scope="session")
def tiny_collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Manifest of a 2-label collection (sines vs white noise) with train/valid splits."""
    from trained import make_collection

    return make_collection(tmp_path_factory.mktemp("collection"))


@pytest.fixture(scope="session")
def tiny_model(tiny_collection: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A .genre model (seed features, logistic regression, 1 s windows) trained on ``tiny_collection``."""
    from genrekit.trainers import ClassicConfig
    from genrekit.training import train

    out = tmp_path_factory.mktemp("model") / "tiny.genre"
    train(tiny_collection, out, "logreg", ClassicConfig(feature_set="seed", window=1.0, hop=0.5))
    return out


@pytest.fixture(scope="session")
def torch():
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install 'genrekit[train]'): "
                                                "CNN training tests skipped")
    torch.set_num_threads(1)
    return torch


@pytest.fixture(scope="session")
def musicnn_weights():
    from genrekit.errors import ModelFileError
    from genrekit.musicnn.paths import weights_file
    from genrekit.musicnn.weights import load_weights

    try:
        return load_weights(weights_file("MSD_musicnn"))
    except ModelFileError as error:
        pytest.skip(f"musicnn weights not installed ({error})")
