"""Classify one spooled upload, hearing at most its first ``max_duration_s`` seconds.

A recording within the limit goes through :meth:`GenreClassifier.predict`,
exactly as ``genrekit predict`` classifies a file. A longer one, or one whose
header does not say its length, is decoded as a stream cut off at the limit
(the decoder's ``duration``), so neither time nor memory grows with what a
client sends.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from genrekit.audio import probe, stream_audio, stream_windows
from genrekit.predict import DEFAULT_MAX_WINDOWS, GenreClassifier, Prediction, spread
from genrekit.predict import _SampleCounter  # the counter predict's own streamed path uses


@dataclass(frozen=True)
class Heard:
    """How much of a recording a verdict heard: the ``analysed`` part of an answer."""

    seconds: float
    duration_s: float | None
    truncated: bool
    max_duration_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"seconds": round(self.seconds, 3),
                "duration_s": None if self.duration_s is None else round(self.duration_s, 3),
                "truncated": self.truncated, "max_duration_s": self.max_duration_s}


def classify_upload(classifier: GenreClassifier, path: Path, name: str, *, coverage: str,
                    max_duration_s: float) -> tuple[Prediction, Heard]:
    """The verdict on the file at ``path`` (reported as ``name``) and how much of it was heard."""
    info = probe(path)
    declared = info.duration if info.frames >= 0 else None
    if declared is not None and declared <= max_duration_s:
        prediction = classifier.predict(path, coverage=coverage)
        heard = Heard(declared, declared, False, max_duration_s)
    else:
        prediction, seconds = _classify_first(classifier, path, coverage, max_duration_s, declared)
        truncated = declared > max_duration_s if declared is not None else seconds >= max_duration_s - 1e-3
        heard = Heard(seconds, declared, truncated, max_duration_s)
    return replace(prediction, path=name), heard


def _classify_first(classifier: GenreClassifier, path: Path, coverage: str, max_duration_s: float,
                    declared: float | None) -> tuple[Prediction, float]:
    """Classify the first ``max_duration_s`` seconds as a stream; ``fast`` keeps the windows :func:`spread` picks."""
    sr = classifier.sample_rate
    counter = _SampleCounter(stream_audio(path, sr, duration=max_duration_s))
    windows: Iterable[tuple[float, np.ndarray]] = stream_windows(counter, sr, classifier.windowing, path)
    planned: int | None = None
    if coverage == "fast" and declared is not None and classifier.windowing.window is not None:
        heard = int(round(min(declared, max_duration_s) * sr))
        planned = len(classifier.windowing.starts(heard, sr))
        windows = _keep(windows, set(spread(planned, DEFAULT_MAX_WINDOWS)))
    starts, probs = classifier.classify_windows(windows, path)
    seconds = counter.samples / sr
    return classifier.verdict(starts, probs, seconds, path, mode=coverage, of=planned), seconds


def _keep(windows: Iterable[tuple[float, np.ndarray]], chosen: set[int]) -> Iterator[tuple[float, np.ndarray]]:
    for i, window in enumerate(windows):
        if i in chosen:
            yield window

