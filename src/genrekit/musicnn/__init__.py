"""Pretrained music understanding: musicnn (Pons & Serra, 2019) without TensorFlow.

The four networks of musicnn's wheel, its MSD and MagnaTagATune taggers in
both architectures (``MSD_musicnn``, ``MTT_musicnn``, ``MSD_vgg``,
``MTT_vgg``), re-implemented as ONNX graphs run by onnxruntime on float32
log-mel patches (avoiding the float16 overflow of musicnn's own input code),
with the published weights converted from their TensorFlow checkpoints by
genrekit's own reader. The package ships the converted networks, so nothing
needs installing::

    from genrekit import musicnn
    net = musicnn.load("MSD_musicnn")      # or "MTT_musicnn", "MSD_vgg", "MTT_vgg"
    out = net.analyze(y, sr)               # MusicnnOutput: taggram, penultimate, starts
    out.top_tags(5), out.embedding()       # [(tag, score)], (400,) mean+max of the penultimate layer

    musicnn.tag_file("song.mp3")           # the same from a file
    musicnn.embed(y, sr)                   # (400,) float32

``musicnn.install()`` converts the wheel again (``pip download``), into
``$GENREKIT_DATA/models/musicnn``, which is then read first: the converter
reproduces the shipped files bit for bit. Importing this package is cheap;
onnxruntime is imported on first :func:`load`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Sequence

import numpy as np

from genrekit.musicnn.labels import MSD_CATEGORIES, MSD_LABELS, MTT_LABELS, labels_for
from genrekit.musicnn.paths import DEFAULT_MODEL, MODELS, MusicnnNotInstalledError, install_dir, installed_models

if TYPE_CHECKING:  # pragma: no cover
    from genrekit.musicnn.model import Musicnn, MusicnnOutput


def install(
    wheel: str | os.PathLike[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    models: Sequence[str] = MODELS,
    force: bool = False,
    progress=lambda _: None,
) -> dict:
    """Download (``wheel=None``) or take the musicnn 0.1.0 wheel and convert its weights into ``data_dir``.

    See :func:`genrekit.musicnn.installer.install`.
    """
    from genrekit.musicnn.installer import install as _install

    return _install(wheel, data_dir, models=models, force=force, progress=progress)


def load(model: str = DEFAULT_MODEL, data_dir: str | os.PathLike[str] | None = None, *, threads: int | None = None) -> "Musicnn":
    """The network ``model``, cached per process; raises :class:`MusicnnNotInstalledError` if absent."""
    from genrekit.musicnn.model import load as _load

    return _load(model, data_dir, threads=threads)


def analyze(y: np.ndarray, sr: int, *, model: str = DEFAULT_MODEL, hop: float | None = None, data_dir=None) -> "MusicnnOutput":
    """Per-patch tag scores and penultimate embeddings of a mono signal."""
    return load(model, data_dir).analyze(y, sr, hop=hop)


def embed(
    y: np.ndarray, sr: int, *, model: str = DEFAULT_MODEL, pooling: Sequence[str] = ("mean", "max"), data_dir=None
) -> np.ndarray:
    """The penultimate layer (musicnn 200 units, vgg 256) pooled over 3-second patches, float32."""
    return analyze(y, sr, model=model, data_dir=data_dir).embedding(pooling)


def tags(y: np.ndarray, sr: int, *, model: str = DEFAULT_MODEL, top_k: int = 10, data_dir=None) -> list[tuple[str, float]]:
    """The ``top_k`` tags of a signal by mean score over patches, best first."""
    return analyze(y, sr, model=model, data_dir=data_dir).top_tags(top_k)


def tag_file(
    path: str | os.PathLike[str], *, model: str = DEFAULT_MODEL, hop: float | None = None, data_dir=None
) -> "MusicnnOutput":
    """Decode ``path`` at 16 kHz and run musicnn on it (raises genrekit's typed audio errors)."""
    from genrekit.audio import load_audio
    from genrekit.musicnn.frontend import SAMPLE_RATE

    net = load(model, data_dir)  # fail on a missing or damaged network before decoding
    return net.analyze(load_audio(path, SAMPLE_RATE), SAMPLE_RATE, hop=hop)


__all__ = [
    "DEFAULT_MODEL",
    "MODELS",
    "MSD_CATEGORIES",
    "MSD_LABELS",
    "MTT_LABELS",
    "MusicnnNotInstalledError",
    "analyze",
    "embed",
    "install",
    "install_dir",
    "installed_models",
    "labels_for",
    "load",
    "tag_file",
    "tags",
]
