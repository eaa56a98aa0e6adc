"""Classify whole tracks: decode, cut into windows, classify each, aggregate.

A :class:`GenreClassifier` wraps a model file and uses nothing but what the
file's card says (feature set, sample rate, windowing, aggregation), so a
model predicts the same way wherever it is loaded.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from genrekit.audio import (
    MAX_AMPLITUDE,
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    Windowing,
    cut_windows,
    probe,
    read_spans,
    resample,
    resampled_length,
    stream_audio,
    stream_windows,
)
from genrekit.errors import (
    ConfigError,
    EmptyAudioError,
    GenrekitError,
    as_input_error,
    ModelFileError,
    NonFiniteAudioError,
    NonFiniteFeaturesError,
)
from genrekit.evaluation import aggregate_windows
from genrekit.features import feature_set_from_config
from genrekit.features.base import FeatureSet
from genrekit.models.bundle import GenreModel
from genrekit.models.bundle import load_model as load_bundle
from genrekit.models.card import ModelCard
from genrekit.models.ensemble import EnsembleFeatureSet

BUNDLED_DIR = Path(__file__).parent / "data" / "models"
BUNDLED_NAMES = ("default", "accurate")
"""Models genrekit ships, by name: ``default`` (fast) and ``accurate`` (up to 4x its cost per clip), both trained
on GTZAN by ``make model``; docs/results.md ("Two bundled models") says how they were chosen."""
BUNDLED_MODEL = BUNDLED_DIR / "default.genre"
"""The model used when none is named."""

COVERAGES = ("fast", "full")
"""``fast``: a verdict from at most ``max_windows`` evenly spread windows; ``full``: from every window."""

DEFAULT_MAX_WINDOWS = 12
"""Windows a ``fast`` verdict analyses at most: chosen by measurement, see docs/results.md,
"How many windows a verdict needs" (``scripts/coverage_study.py``)."""


def spread(n: int, k: int) -> list[int]:
    """Indices of ``k`` of ``n`` windows, evenly spread, the first and the last always among them (``k >= 2``).

    ``k == 1`` gives the middle window; ``k >= n`` gives all. Deterministic.
    """
    if n <= 0:
        return []
    if k >= n:
        return list(range(n))
    if k == 1:
        return [(n - 1) // 2]
    return [int(i) for i in np.floor(np.linspace(0, n - 1, k) + 0.5).astype(int)]


@dataclass(frozen=True)
class Segment:
    """The verdict on one analysis window of a track (times in seconds)."""

    start: float
    end: float
    genre: str
    confidence: float


@dataclass(frozen=True)
class Prediction:
    """The verdict on a whole track: the top genre, all probabilities, and the timeline."""

    path: str
    genre: str
    confidence: float
    probabilities: dict[str, float]
    segments: list[Segment] = field(default_factory=list)
    coverage: dict[str, Any] = field(default_factory=dict)
    """Which windows the verdict heard: ``{"mode": "fast"|"full", "windows": analysed, "of": in the
    track, "starts": [seconds of each analysed window]}``; :attr:`segments` cover those windows only."""

    def top(self, k: int) -> list[tuple[str, float]]:
        """The ``k`` most probable genres, best first."""
        return sorted(self.probabilities.items(), key=lambda item: -item[1])[:k]

    def to_dict(self, top_k: int | None = None) -> dict[str, Any]:
        data = asdict(self)
        if top_k is not None:
            data["probabilities"] = dict(self.top(top_k))
        return data


FLOAT32_MAX = float(np.finfo(np.float32).max)


class GenreClassifier:
    """A loaded model file and the feature set that makes its input, ready to classify files or signals.

    Build one with :func:`load_model` or :func:`classifier_for`, which know
    how a model's input is made; the classifier itself only runs it. Files
    are decoded as a stream and classified a batch of windows at a time, so
    memory does not grow with a recording's length.
    """

    def __init__(self, bundle: GenreModel, feature_set: FeatureSet) -> None:
        self.bundle = bundle
        self.feature_set = feature_set
        if feature_set.column_names != list(bundle.columns):
            raise ModelFileError(f"{bundle.path}: the model's input columns differ from those of {feature_set.name}")
        self.windowing: Windowing = bundle.card.windowing
        self.aggregation: str = bundle.card.aggregation
        self.set_threads(bundle.intra_op_threads)  # a network inside the feature set runs as the model's graph does

    def set_threads(self, threads: int) -> None:
        """onnxruntime intra-op threads of every graph this classifier runs: its model's and its features' networks.

        Takes effect for sessions not created yet (a fresh or unpickled classifier); 0 is onnxruntime's default.
        """
        self.bundle.intra_op_threads = threads
        self.feature_set.set_threads(threads or None)

    @property
    def labels(self) -> list[str]:
        return list(self.bundle.labels)

    @property
    def card(self) -> ModelCard:
        return self.bundle.card

    @property
    def sample_rate(self) -> int:
        return self.feature_set.sample_rate

    def classify_windows(self, windows: Iterable[tuple[float, np.ndarray]],
                         path: str | os.PathLike[str] = "<signal>") -> tuple[np.ndarray, np.ndarray]:
        """``(starts_seconds (n,), probabilities (n, n_labels))`` of ``(start, samples)`` windows at :attr:`sample_rate`.

        Windows are consumed a batch at a time (:meth:`FeatureSet.extract_stream`),
        so a stream of windows (:func:`genrekit.audio.stream_windows`) is never held whole.
        """
        starts: list[np.ndarray] = []
        probs: list[np.ndarray] = []
        for batch in self.feature_set.extract_stream(windows, self.sample_rate):
            features = batch.features
            if not np.isfinite(features).all() or np.abs(features).max(initial=0.0) > FLOAT32_MAX:
                raise NonFiniteFeaturesError(
                    f"{path}: the audio's features are NaN, infinite or beyond float32 range near "
                    f"{batch.starts[0]:.1f} s (samples far beyond full scale?)")
            starts.append(batch.starts)
            probs.append(np.asarray(self.bundle.predict_proba(features), dtype=np.float64))
        if not probs:
            return np.zeros(0), np.zeros((0, len(self.labels)))
        return np.concatenate(starts), np.concatenate(probs)

    def window_probabilities(self, y: np.ndarray, path: str | os.PathLike[str] = "<signal>") -> tuple[np.ndarray, np.ndarray]:
        """Per-window ``(starts_seconds (n,), probabilities (n, n_labels))`` of a mono float32 signal at :attr:`sample_rate`."""
        return self.classify_windows(cut_windows(y, self.sample_rate, self.windowing, path), path)

    def verdict(self, starts: np.ndarray, probs: np.ndarray, total_seconds: float,
                path: str | os.PathLike[str] = "<signal>", *, mode: str = "full", of: int | None = None) -> Prediction:
        """The track's :class:`Prediction` from its window probabilities, aggregated as the card says.

        ``mode`` and ``of`` (the track's number of windows; by default those given) fill :attr:`Prediction.coverage`.
        """
        _, track = aggregate_windows(probs, np.zeros(len(probs), dtype=int), method=self.aggregation)
        track = track[0]
        labels = self.labels
        window_len = self.windowing.window or total_seconds
        segments = [
            Segment(
                start=round(float(start), 3),
                end=round(float(min(start + window_len, total_seconds)), 3),
                genre=labels[int(np.argmax(p))],
                confidence=round(float(np.max(p)), 4),
            )
            for start, p in zip(starts, probs)
        ]
        best = int(np.argmax(track))
        return Prediction(
            path=str(path),
            genre=labels[best],
            confidence=round(float(track[best]), 4),
            probabilities={label: round(float(p), 4) for label, p in zip(labels, track)},
            segments=segments,
            coverage={"mode": mode, "windows": len(probs), "of": len(probs) if of is None else int(of),
                      "starts": [round(float(start), 3) for start in starts]},
        )

    def predict_signal(self, y: np.ndarray, sr: int, *, path: str | os.PathLike[str] = "<signal>",
                       coverage: str = "full", max_windows: int = DEFAULT_MAX_WINDOWS) -> Prediction:
        """Classify a mono signal sampled at ``sr`` Hz (resampled to the model's rate when they differ).

        ``y`` is float (any float dtype, full scale 1.0) or integer PCM
        (int8/int16/int32 and uint8, converted with their scale). Raises
        :class:`ConfigError` for anything else, 2-D input included (make it
        mono first), and :class:`NonFiniteAudioError` for NaN or infinite samples.
        Every window is analysed unless ``coverage="fast"`` asks for at most
        ``max_windows`` of them, chosen as :meth:`predict` chooses.
        """
        _check_coverage(coverage, max_windows)
        signal = pcm_to_float(y, sr, path)
        signal = resample(signal, int(sr), self.sample_rate)
        windows = list(cut_windows(signal, self.sample_rate, self.windowing, path))
        chosen = spread(len(windows), max_windows) if coverage == "fast" else range(len(windows))
        starts, probs = self.classify_windows((windows[i] for i in chosen), path)
        return self.verdict(starts, probs, len(signal) / self.sample_rate, path, mode=coverage, of=len(windows))

    def predict(self, path: str | os.PathLike[str], *, coverage: str = "fast",
                max_windows: int = DEFAULT_MAX_WINDOWS) -> Prediction:
        """Classify one audio file in bounded memory, from a bounded or the full set of its windows.

        ``coverage="full"`` decodes the file as a stream and analyses every
        window (for the timeline and the report). ``"fast"`` (the default)
        reads the duration from the header, plans the windows over it, and
        decodes, resamples and analyses only ``max_windows`` of them, evenly
        spread, the first and the last always among them (:func:`spread`),
        seeking to each (:func:`genrekit.audio.read_spans`). A file with at
        most ``max_windows`` windows, one of unknown length, a whole-file
        model, or a file that turns out shorter than its header says (the
        last window comes back short) is analysed in full, as ``"full"``
        would, errors included. :attr:`Prediction.coverage` says which
        windows were heard.
        """
        _check_coverage(coverage, max_windows)
        if coverage == "fast" and self.windowing.window is not None:
            fast = self._predict_fast(path, int(max_windows))
            if fast is not None:
                return fast
        counter = _SampleCounter(stream_audio(path, self.sample_rate))
        starts, probs = self.classify_windows(stream_windows(counter, self.sample_rate, self.windowing, path), path)
        return self.verdict(starts, probs, counter.samples / self.sample_rate, path, mode=coverage)

    def plan(self, path: str | os.PathLike[str],
             max_windows: int = DEFAULT_MAX_WINDOWS) -> tuple[int, list[tuple[int, int]], list[int]] | None:
        """``(n_samples, windows, chosen)`` of a ``fast`` verdict: the length the header declares (samples
        at :attr:`sample_rate`), every window's ``(start, stop)`` over it, and the indices of those analysed
        (:func:`spread`); ``None`` where the length is unknown or the model analyses whole files."""
        info = probe(path)
        if info.frames < 0 or self.windowing.window is None:
            return None
        n = resampled_length(info.frames, info.sample_rate, self.sample_rate)
        bounds = self.windowing.starts(n, self.sample_rate)
        return n, bounds, spread(len(bounds), max_windows)

    def _predict_fast(self, path: str | os.PathLike[str], max_windows: int) -> Prediction | None:
        planned = self.plan(path, max_windows)
        if planned is None:
            return None
        n, bounds, chosen = planned
        if not bounds or len(chosen) == len(bounds):
            return None  # too short (the full path says so), or every window anyway: one sequential read
        sr = self.sample_rate
        spans = [(bounds[i][0] / sr, (bounds[i][1] - bounds[i][0]) / sr) for i in chosen]
        short: list[bool] = []

        def windows() -> Iterator[tuple[float, np.ndarray]]:
            for (_, length), (start, y) in zip(spans, read_spans(path, sr, spans)):
                if len(y) < int(round(length * sr)):
                    short.append(True)  # the audio ends before its header says: read it all instead
                    return
                yield start, y

        starts, probs = self.classify_windows(windows(), path)
        if short:
            return None
        return self.verdict(starts, probs, n / sr, path, mode="fast", of=len(bounds))

    def predict_many(self, paths: Iterable[str | os.PathLike[str]], *, coverage: str = "fast",
                     max_windows: int = DEFAULT_MAX_WINDOWS) -> Iterator[Prediction | GenrekitError]:
        """Classify files one by one (options as :meth:`predict`); a file that fails yields its error instead.

        Whatever goes wrong with one file (a typed genrekit error, running out
        of memory, an exception inside a decoder or numerical library) is
        caught here, at the file boundary, and yielded as an error naming the
        file; only ``KeyboardInterrupt`` and ``SystemExit`` stop the loop.
        """
        for path in paths:
            try:
                yield self.predict(path, coverage=coverage, max_windows=max_windows)
            except Exception as error:  # the file boundary: one input never costs the others
                yield as_input_error(path, error)


def _check_coverage(coverage: str, max_windows: int) -> None:
    if coverage not in COVERAGES:
        raise ConfigError(f"coverage must be one of {', '.join(COVERAGES)}, got {coverage!r}")
    if isinstance(max_windows, bool) or not isinstance(max_windows, (int, np.integer)) or max_windows < 1:
        raise ConfigError(f"max_windows must be a whole number >= 1, got {max_windows!r}")


class _SampleCounter:
    """Pass blocks through, counting their samples: a stream's length is known only at its end."""

    def __init__(self, blocks: Iterable[np.ndarray]) -> None:
        self._blocks = blocks
        self.samples = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        for block in self._blocks:
            self.samples += len(block)
            yield block


_PCM_SCALE = {np.dtype(np.int8): (0.0, 128.0), np.dtype(np.int16): (0.0, 32768.0),
              np.dtype(np.int32): (0.0, 2147483648.0), np.dtype(np.uint8): (128.0, 128.0)}
"""``(offset, scale)`` turning integer PCM into floats in [-1, 1): ``(x - offset) / scale``."""


def pcm_to_float(y: Any, sr: Any, path: str | os.PathLike[str] = "<signal>") -> np.ndarray:
    """Check a caller's signal and sample rate; return the signal as contiguous float32 ``(n,)``.

    Integer PCM is scaled to full scale 1.0 (int16 ``32767`` becomes ``~1.0``),
    since feeding raw integers to a model trained on float audio gives
    confident nonsense. Raises :class:`ConfigError` (a ``ValueError``) for a
    wrong sample rate, dtype or shape, :class:`EmptyAudioError` for no samples
    and :class:`NonFiniteAudioError` for NaN or infinite ones.
    """
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)):
        raise ConfigError(f"sr must be the signal's sample rate in Hz (an int), got {sr!r}")
    if not MIN_SAMPLE_RATE <= int(sr) <= MAX_SAMPLE_RATE:
        raise ConfigError(f"unsupported sample rate {int(sr)} Hz (genrekit reads {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz)")
    array = np.asarray(y)
    if array.ndim != 1:
        hint = ""
        if array.ndim == 2:
            axis = 1 if array.shape[0] >= array.shape[1] else 0
            hint = f"; make it mono first, e.g. y.mean(axis={axis}) for {'(samples, channels)' if axis else '(channels, samples)'}"
        raise ConfigError(f"expected a mono signal of shape (n_samples,), got shape {array.shape}{hint}")
    if array.dtype in _PCM_SCALE:
        offset, scale = _PCM_SCALE[array.dtype]
        array = (array.astype(np.float32) - np.float32(offset)) / np.float32(scale)
    elif array.dtype.kind != "f":
        raise ConfigError(
            f"unsupported sample type {array.dtype} (give float audio, or int8/int16/int32/uint8 PCM)"
        )
    if array.size == 0:
        raise EmptyAudioError(path, "the signal has 0 samples")
    signal = np.ascontiguousarray(array, dtype=np.float32)
    finite = np.isfinite(signal)
    if not finite.all():
        raise NonFiniteAudioError(path, f"{int(signal.size - finite.sum())} of {signal.size} samples are NaN or infinite")
    peak = float(np.max(np.abs(signal)))
    if peak > MAX_AMPLITUDE:
        raise ConfigError(f"samples reach {peak:.3g}, far beyond full scale (1.0): give float audio scaled to [-1, 1]")
    return signal


def model_inputs(bundle: GenreModel) -> FeatureSet:
    """The feature set that makes ``bundle``'s input.

    A model that embeds other models (an ensemble) takes their verdicts as
    its features; any other model, the feature set its card records.
    """
    embedded = bundle.embedded_models()
    if embedded:
        names = [m["name"] for m in bundle.card.model.members]
        if len(names) != len(embedded):
            raise ModelFileError(f"{bundle.path}: the card lists {len(names)} members, the file holds {len(embedded)}")
        fs: FeatureSet = EnsembleFeatureSet([classifier_for(m) for m in embedded], bundle.card.labels, names)
    else:
        fs = feature_set_from_config(bundle.card.feature_set.to_json())
    if fs.config() != bundle.card.feature_set.to_json():
        raise ModelFileError(f"{bundle.path}: the card's feature set differs from the one genrekit rebuilds from it")
    return fs


def classifier_for(bundle: GenreModel) -> GenreClassifier:
    """A :class:`GenreClassifier` over an opened model file (or an embedded member of one)."""
    try:
        return GenreClassifier(bundle, model_inputs(bundle))
    except ConfigError as error:  # a card naming a feature set or option this genrekit does not have
        raise ModelFileError(f"{bundle.path}: {error}") from None


def bundled_model_path(name: str) -> Path:
    """The file of the bundled model called ``name`` (one of :data:`BUNDLED_NAMES`)."""
    if name not in BUNDLED_NAMES:
        raise ConfigError(f"no bundled model called {name!r}; bundled: {', '.join(BUNDLED_NAMES)}")
    path = BUNDLED_MODEL if name == "default" else BUNDLED_DIR / f"{name}.genre"
    if not path.is_file():
        raise ModelFileError(f"the bundled model {name!r} is missing at {path}; run `make model` to build it")
    return path


def resolve_model(model: str | os.PathLike[str] | None = None) -> Path:
    """The model file ``model`` names: a path, a bundled model's name (``default``, ``accurate``), or None (``default``).

    The one place names are resolved, so every command that takes ``--model``
    accepts them. A bare name wins over a file of that name in the working
    directory only when no such file exists: a path is never second-guessed.
    """
    if model is None:
        return bundled_model_path("default")
    text = os.fspath(model)
    if text in BUNDLED_NAMES and not Path(text).exists():
        return bundled_model_path(text)
    return Path(model)


def load_model(path: str | os.PathLike[str] | None = None) -> GenreClassifier:
    """Load a ``.genre`` model file, or a bundled model by name (see :func:`resolve_model`); None: the default."""
    return classifier_for(load_bundle(resolve_model(path)))
