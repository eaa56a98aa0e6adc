"""Where musicnn's networks live, and which networks there are.

Each network is one ONNX file, ``<model>.onnx`` (the weights inside, large
kernels as float16), beside ``mel_basis.npy`` (the front-end's filter bank,
shared by all four), ``manifest.json`` and musicnn's ISC notice. The package
ships them (``genrekit/data/models/musicnn``), so nothing needs installing.

Search order for reading: an explicit ``data_dir`` (only there); else
``$GENREKIT_DATA/models/musicnn`` (``$GENREKIT_DATA`` is genrekit's data root,
default ``$XDG_DATA_HOME/genrekit`` or ``~/.local/share/genrekit``), where
``genrekit models install musicnn`` writes its own conversion of the wheel;
else the networks shipped in the package.
"""

from __future__ import annotations

import os
from pathlib import Path

from genrekit.errors import ModelFileError

ARCHITECTURES: dict[str, str] = {
    "MSD_musicnn": "musicnn",
    "MTT_musicnn": "musicnn",
    "MSD_vgg": "vgg",
    "MTT_vgg": "vgg",
}
"""Every network of musicnn 0.1.0's wheel and its architecture (``models.py``: ``build_musicnn`` or ``vgg``)."""
MODELS = tuple(ARCHITECTURES)
MUSICNN_MODELS = tuple(m for m, arch in ARCHITECTURES.items() if arch == "musicnn")
"""The networks of the musicnn architecture (what ``--init musicnn`` can start from)."""
DEFAULT_MODEL = "MSD_musicnn"
NETWORK_SUFFIX = ".onnx"
MEL_BASIS_FILE = "mel_basis.npy"
MANIFEST = "manifest.json"
LICENSE_FILE = "LICENSE-musicnn.md"
PACKAGED_DIR = Path(__file__).resolve().parents[1] / "data" / "models" / "musicnn"


class MusicnnNotInstalledError(ModelFileError):
    """A musicnn network is not where genrekit looks for it (the package ships all four: a damaged install)."""

    def __init__(self, model: str, searched: list[Path]) -> None:
        self.model = model
        self.searched = searched
        where = ", ".join(str(p) for p in searched)
        if PACKAGED_DIR in searched:
            advice = ("genrekit ships it in its package, so the installation is incomplete: reinstall genrekit, "
                      "or run `genrekit models install musicnn`")
        else:
            advice = ("leave out the folder to use the networks genrekit ships, or convert them into it with "
                      "`genrekit models install musicnn --data-dir FOLDER`")
        super().__init__(
            f"musicnn network {model} not found (looked in {where}; a network folder holds <model>.onnx and "
            f"mel_basis.npy); {advice} (downloads musicnn 0.1.0 from PyPI and converts it; `--wheel FILE` converts "
            "a wheel you already have)"
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
    if model not in ARCHITECTURES:
        raise ValueError(f"unknown musicnn model {model!r}; choose from {', '.join(MODELS)}")
    return model


def architecture(model: str) -> str:
    """``"musicnn"`` or ``"vgg"``."""
    return ARCHITECTURES[check_model_name(model)]


def weights_file(model: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The network file ``<model>.onnx`` of ``model``; raises :class:`MusicnnNotInstalledError` if absent everywhere.

    A folder counts only if it also holds the shared ``mel_basis.npy``.
    """
    check_model_name(model)
    candidates = [install_dir(data_dir)]
    if data_dir is None and PACKAGED_DIR not in candidates:
        candidates.append(PACKAGED_DIR)
    for folder in candidates:
        path = folder / f"{model}{NETWORK_SUFFIX}"
        if path.is_file() and (folder / MEL_BASIS_FILE).is_file():
            return path
    raise MusicnnNotInstalledError(model, candidates)


def installed_models(data_dir: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """``{model: network path}`` for every musicnn network found (without raising)."""
    found = {}
    for model in MODELS:
        try:
            found[model] = weights_file(model, data_dir)
        except MusicnnNotInstalledError:
            pass
    return found


__all__ = [
    "ARCHITECTURES",
    "DEFAULT_MODEL",
    "MEL_BASIS_FILE",
    "MODELS",
    "MUSICNN_MODELS",
    "MusicnnNotInstalledError",
    "architecture",
    "data_root",
    "install_dir",
    "installed_models",
    "weights_file",
]
