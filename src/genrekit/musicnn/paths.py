"""Where converted musicnn weights live.

Search order for reading: an explicit ``data_dir``; else
``$GENREKIT_DATA/models/musicnn`` (``$GENREKIT_DATA`` is genrekit's data root,
default ``$XDG_DATA_HOME/genrekit`` or ``~/.local/share/genrekit``); else
weights shipped inside the package (``genrekit/data/models/musicnn``), if a
release bundles them. :func:`genrekit.musicnn.install` writes to the first.
"""

from __future__ import annotations

import os
from pathlib import Path

from genrekit.errors import ModelFileError

MODELS = ("MSD_musicnn", "MTT_musicnn")
DEFAULT_MODEL = "MSD_musicnn"
MANIFEST = "manifest.json"
LICENSE_FILE = "LICENSE-musicnn.md"
PACKAGED_DIR = Path(__file__).resolve().parents[1] / "data" / "models" / "musicnn"


class MusicnnNotInstalledError(ModelFileError):
    """The converted musicnn weights are not where genrekit looks for them."""

    def __init__(self, model: str, searched: list[Path]) -> None:
        self.model = model
        self.searched = searched
        where = ", ".join(str(p) for p in searched)
        super().__init__(
            f"musicnn weights for {model} not found (looked in {where}); "
            "run `genrekit models install musicnn` (downloads musicnn 0.1.0 from PyPI and converts it; "
            "`--wheel FILE` converts a wheel you already have)"
        )


def data_root() -> Path:
    """genrekit's data folder: ``$GENREKIT_DATA``, else ``$XDG_DATA_HOME/genrekit``, else ``~/.local/share/genrekit``."""
    env = os.environ.get("GENREKIT_DATA")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "genrekit"


def install_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder :func:`genrekit.musicnn.install` writes to (``data_dir`` if given)."""
    return Path(data_dir).expanduser() if data_dir is not None else data_root() / "models" / "musicnn"


def check_model_name(model: str) -> str:
    if model not in MODELS:
        raise ValueError(f"unknown musicnn model {model!r}; choose from {', '.join(MODELS)}")
    return model


def weights_file(model: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The converted weights of ``model``; raises :class:`MusicnnNotInstalledError` if absent everywhere."""
    check_model_name(model)
    candidates = [install_dir(data_dir)]
    if data_dir is None and PACKAGED_DIR not in candidates:
        candidates.append(PACKAGED_DIR)
    for folder in candidates:
        path = folder / f"{model}.npz"
        if path.is_file():
            return path
    raise MusicnnNotInstalledError(model, candidates)


def installed_models(data_dir: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """``{model: weights path}`` for every musicnn model found (without raising)."""
    found = {}
    for model in MODELS:
        try:
            found[model] = weights_file(model, data_dir)
        except MusicnnNotInstalledError:
            pass
    return found


__all__ = [
    "DEFAULT_MODEL",
    "MODELS",
    "MusicnnNotInstalledError",
    "data_root",
    "install_dir",
    "installed_models",
    "weights_file",
]
