"""The contract every feature set fulfils.

A feature set turns one analysis window of mono audio into one fixed-length
vector of named columns. Feature tables, training, model files and prediction
only ever talk to this interface, so a new set (hand-crafted or learned) plugs
into all of them at once.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Iterator, Sequence

import numpy as np


@dataclass(frozen=True)
class Column:
    """One output column: a stable name and a one-line meaning (with units)."""

    name: str
    description: str


WINDOW_BATCH = 16
"""Windows turned into features at a time by :meth:`FeatureSet.extract_stream`."""


@dataclass(frozen=True)
class WindowBatch:
    """Features of consecutive windows: start and length in seconds ``(n,)``, features ``(n, n_columns)``."""

    starts: np.ndarray
    lengths: np.ndarray
    features: np.ndarray


class FeatureSet(ABC):
    """Maps a window of audio to a vector of ``len(columns)`` floats.

    Subclasses set ``name`` and ``version`` (bump ``version`` whenever the
    numbers a set computes change: it is part of every cache key and model
    card) and implement :meth:`extract`.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    sample_rate: int = 22050
    threads: int | None = None
    """onnxruntime intra-op threads of the network a set runs (``None``: onnxruntime's default, every core).
    Set with :meth:`set_threads`; it changes how fast, never what, so it is not part of :meth:`config`."""

    def set_threads(self, threads: int | None) -> None:
        """Run any network this set uses on ``threads`` intra-op threads (a worker process among N wants 1)."""
        self.threads = threads

    @property
    @abstractmethod
    def columns(self) -> tuple[Column, ...]:
        """The output columns, in order."""

    @abstractmethod
    def extract(self, y: np.ndarray, sr: int) -> np.ndarray:
        """Features of one window: ``y`` float32 ``(n_samples,)`` at ``sr`` Hz -> float64 ``(n_columns,)``."""

    def extract_many(self, windows: Sequence[np.ndarray], sr: int) -> np.ndarray:
        """Features of several windows of one track, ``(n_windows, n_columns)``.

        Sets that can batch (a neural network) override this; the default loops.
        """
        if not windows:
            return np.zeros((0, len(self.columns)))
        return np.stack([self.extract(w, sr) for w in windows])

    def extract_stream(self, windows: Iterable[tuple[float, np.ndarray]], sr: int,
                       batch_size: int = WINDOW_BATCH) -> Iterator[WindowBatch]:
        """Features of a stream of ``(start_seconds, samples)`` windows, ``batch_size`` windows at a time.

        The one way a track's windows become features, for the feature
        table and for prediction alike: a stream of windows
        (:func:`genrekit.audio.stream_windows`) is never held whole, so
        memory stays bounded however long the recording.
        """
        batch: list[tuple[float, np.ndarray]] = []

        def done() -> WindowBatch:
            features = np.asarray(self.extract_many([w for _, w in batch], sr), dtype=np.float64)
            out = WindowBatch(np.array([s for s, _ in batch], dtype=np.float64),
                              np.array([len(w) / sr for _, w in batch], dtype=np.float64), features)
            batch.clear()
            return out

        for window in windows:
            batch.append(window)
            if len(batch) >= batch_size:
                yield done()
        if batch:
            yield done()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def options(self) -> dict[str, Any]:
        """Constructor options that change the output (JSON-serialisable)."""
        return {}

    def config(self) -> dict[str, Any]:
        """Everything that determines the numbers: goes into cache keys and model cards."""
        return {"name": self.name, "version": self.version, "sample_rate": self.sample_rate, "options": self.options()}

    def config_hash(self) -> str:
        blob = json.dumps(self.config(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({opts})"
