"""Run musicnn on audio: patches in, tag scores and embeddings out.

:func:`load` returns a cached :class:`Musicnn` (the shipped ONNX network read
and checked once, one onnxruntime session per model and folder; no ``onnx``
import).
:meth:`Musicnn.analyze_many` cuts every signal into 3-second log-mel
patches and runs all patches of all signals through the network in as few
calls as memory allows (``max_batch`` patches per call).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from genrekit.errors import ModelFileError
from genrekit.musicnn import frontend
from genrekit.musicnn.labels import labels_for
from genrekit.musicnn.paths import DEFAULT_MODEL, MEL_BASIS_FILE, check_model_name, weights_file
from genrekit.runtime import onnx_session, run_batched

MAX_BATCH = 4
"""Patches per onnxruntime call: ~10 MB of intermediate activations per patch, so ~40 MB at most. Larger
batches run no faster per patch on CPU (measured 1 to 12) but cost memory and page faults: with 16, a cold
`genrekit predict` of a 3-minute song peaked at 326 MB instead of 166 MB (docs/results.md, "Speed")."""


@dataclass(frozen=True)
class MusicnnOutput:
    """musicnn's view of one signal, one row per 3-second patch.

    ``starts``: ``(n_patches,)`` seconds; ``taggram``: ``(n_patches, 50)`` sigmoid
    scores in ``labels`` order; ``penultimate``: ``(n_patches, 200)`` embeddings;
    ``padded``: the signal was shorter than one patch and was repeat-padded;
    ``midend``: ``(n_patches, 2 * n)`` the mid-end pooled within each patch (``max_pool`` then
    ``mean_pool``: 753 + 753 for musicnn, 128 + 128 for vgg), when asked for.
    """

    model: str
    labels: tuple[str, ...]
    starts: np.ndarray
    taggram: np.ndarray
    penultimate: np.ndarray
    patch_seconds: float
    padded: bool = False
    midend: np.ndarray | None = None

    @property
    def tag_scores(self) -> np.ndarray:
        """Track-level score of each tag: the mean over patches (musicnn's ``top_tags``), ``(50,)``."""
        return self.taggram.mean(axis=0)

    def top_tags(self, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` best tags by mean score, best first."""
        scores = self.tag_scores
        order = np.argsort(-scores, kind="stable")[:k]
        return [(self.labels[i], float(scores[i])) for i in order]

    def embedding(self, pooling: Sequence[str] = ("mean", "max")) -> np.ndarray:
        """The penultimate layer pooled over patches: ``mean`` and/or ``max`` concatenated, float32."""
        parts = []
        for how in pooling:
            if how == "mean":
                parts.append(self.penultimate.mean(axis=0))
            elif how == "max":
                parts.append(self.penultimate.max(axis=0))
            else:
                raise ValueError(f"unknown pooling {how!r}; use 'mean' or 'max'")
        return np.concatenate(parts)


class Musicnn:
    """One musicnn-family network (``MSD_musicnn``, ``MTT_musicnn``, ``MSD_vgg``, ``MTT_vgg``) ready to run.

    ``Musicnn(weights, model)`` builds the float32 graph from TensorFlow-layout weights in memory
    (needs the ``onnx`` package: conversion, tests); :meth:`from_file` runs a network file as shipped.
    """

    def __init__(
        self, weights: dict[str, np.ndarray], model: str = DEFAULT_MODEL, *, threads: int | None = None, source: str = ""
    ) -> None:
        from genrekit.musicnn.weights import network_proto  # deferred: building the graph needs the onnx package

        check_model_name(model)
        proto = network_proto(weights, model, check=False)
        self._start(proto.SerializeToString(), weights["mel_basis"], model, threads, source)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], model: str = DEFAULT_MODEL, *, threads: int | None = None) -> "Musicnn":
        """The network file ``path`` (``<model>.onnx``, beside ``mel_basis.npy``), checked as hostile data first."""
        from genrekit.musicnn.network_file import read_mel_basis, read_network

        path = Path(path)
        check_model_name(model)
        net = cls.__new__(cls)
        net._start(read_network(path, model), read_mel_basis(path.parent / MEL_BASIS_FILE), model, threads, str(path))
        return net

    def _start(self, model_bytes: bytes, mel_basis: np.ndarray, model: str, threads: int | None, source: str) -> None:
        self.model = model
        self.labels = labels_for(model)
        self.source = source
        self.mel_basis = np.ascontiguousarray(mel_basis, dtype=np.float32)
        self._session = onnx_session(model_bytes, threads=threads or 0, where=f"musicnn {model}")
        self._widths = {o.name: o.shape[1] for o in self._session.get_outputs()}
        frames = self._session.get_inputs()[0].shape[1]
        self.n_frames: int | None = frames if isinstance(frames, int) else None
        """Frames per patch the network needs (vgg: 187), or None when any length works (musicnn)."""

    def run(
        self, mel: np.ndarray, outputs: Sequence[str] = ("taggram", "penultimate"), max_batch: int = MAX_BATCH
    ) -> dict[str, np.ndarray]:
        """The network on log-mel patches ``(n, n_frames, 96)`` float32; ``{output: (n, ...)}``.

        Outputs: ``taggram`` (50), ``penultimate`` (musicnn 200, vgg 256), ``max_pool``, ``mean_pool``
        (musicnn 753, vgg 128), ``logits`` (50). vgg networks take 187-frame patches only.
        """
        mel = np.asarray(mel)
        if mel.ndim != 3 or mel.shape[2] != frontend.N_MELS:
            raise ValueError(f"expected log-mel patches of shape (n, frames, {frontend.N_MELS}), got {mel.shape}")
        if mel.shape[1] < 1:
            raise ValueError("patches need at least one frame")
        if self.n_frames is not None and mel.shape[1] != self.n_frames:
            raise ValueError(f"{self.model} takes patches of {self.n_frames} frames, got {mel.shape[1]}")
        mel = np.ascontiguousarray(mel, dtype=np.float32)
        if len(mel) == 0:
            return {name: np.zeros((0, self._width(name)), np.float32) for name in outputs}
        arrays = run_batched(self._session, {"mel": mel}, list(outputs), max_batch)
        return dict(zip(outputs, arrays))

    def _width(self, name: str) -> int:
        return self._widths[name]

    def analyze(
        self, y: np.ndarray, sr: int = frontend.SAMPLE_RATE, *, hop: float | None = None, midend: bool = False
    ) -> MusicnnOutput:
        """Tags and embeddings of one mono signal (resampled to 16 kHz if ``sr`` differs)."""
        return self.analyze_many([y], sr, hop=hop, midend=midend)[0]

    def analyze_many(
        self, signals: Sequence[np.ndarray], sr: int = frontend.SAMPLE_RATE, *, hop: float | None = None,
        midend: bool = False,
    ) -> list[MusicnnOutput]:
        """:meth:`analyze` for several signals, with all their patches batched together.

        ``hop``: seconds between patch starts (``None``: 3 s, no overlap, musicnn's default);
        ``midend``: also keep each patch's pooled mid-end (:attr:`MusicnnOutput.midend`).
        """
        from genrekit.audio import resample

        hop_frames = frontend.hop_frames(hop)
        cut, starts, padded = [], [], []
        for y in signals:
            y = np.asarray(y, dtype=np.float32)
            if y.ndim != 1:
                raise ValueError(f"expected a mono signal of shape (n_samples,), got shape {y.shape}")
            if len(y) == 0:
                raise ValueError("empty signal")
            y = resample(y, sr, frontend.SAMPLE_RATE)
            patches, patch_starts = frontend.signal_patches(y, self.mel_basis, hop=hop_frames)
            cut.append(patches)
            starts.append(patch_starts)
            padded.append(len(y) < frontend.min_samples())
        names = ("taggram", "penultimate", "max_pool", "mean_pool") if midend else ("taggram", "penultimate")
        out = self.run(np.concatenate(cut), names)
        mid = np.concatenate([out["max_pool"], out["mean_pool"]], axis=1) if midend else None
        bounds = np.cumsum([0] + [len(p) for p in cut])
        patch_seconds = frontend.PATCH_FRAMES * frontend.HOP_LENGTH / frontend.SAMPLE_RATE
        return [
            MusicnnOutput(
                model=self.model,
                labels=self.labels,
                starts=starts[i],
                taggram=out["taggram"][bounds[i] : bounds[i + 1]],
                penultimate=out["penultimate"][bounds[i] : bounds[i + 1]],
                patch_seconds=patch_seconds,
                padded=padded[i],
                midend=None if mid is None else mid[bounds[i] : bounds[i + 1]],
            )
            for i in range(len(cut))
        ]


_CACHE: dict[tuple[str, str, int | None], Musicnn] = {}
_LOCK = threading.Lock()


def load(model: str = DEFAULT_MODEL, data_dir: str | os.PathLike[str] | None = None, *, threads: int | None = None) -> Musicnn:
    """The installed ``model``, loaded once per process (and per weights file and thread count).

    Raises :class:`~genrekit.musicnn.paths.MusicnnNotInstalledError` when the network is absent
    everywhere (the package ships all four), and :class:`~genrekit.errors.ModelFileError` when the
    file fails its checks or differs from its folder's manifest.
    """
    path = weights_file(model, data_dir)
    key = (model, str(path.resolve()), threads)
    with _LOCK:
        if key not in _CACHE:
            _verify_against_manifest(path)
            _CACHE[key] = Musicnn.from_file(path, model, threads=threads)
        return _CACHE[key]


def _verify_against_manifest(path: Path) -> None:
    """Compare the network's and the mel filter bank's SHA-256 with their folder's manifest, when it has one.

    The shipped folder and every folder ``genrekit models install musicnn`` writes have one.
    """
    from genrekit.musicnn.manifest import read_manifest, sha256_file

    manifest = read_manifest(path.parent)
    if not manifest:
        return
    entries = [(path, (manifest.get("models") or {}).get(path.stem)),
               (path.parent / MEL_BASIS_FILE, manifest.get("mel_basis"))]
    for file, entry in entries:
        if not isinstance(entry, dict) or "sha256" not in entry:
            continue
        digest = sha256_file(file)
        if digest != entry["sha256"]:
            raise ModelFileError(
                f"{file}: SHA-256 {digest[:12]}... differs from the manifest beside it ({str(entry['sha256'])[:12]}...); "
                "the file was modified or damaged; reinstall genrekit or run `genrekit models install musicnn --force`"
            )


def clear_cache() -> None:
    """Forget loaded models (tests; after reinstalling)."""
    with _LOCK:
        _CACHE.clear()


__all__ = ["MAX_BATCH", "Musicnn", "MusicnnOutput", "clear_cache", "load"]
