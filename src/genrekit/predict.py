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

from genrekit.audio import Windowing, cut_windows, load_audio
from genrekit.errors import ConfigError, GenrekitError, ModelFileError
from genrekit.evaluation import aggregate_windows
from genrekit.features import feature_set_from_config
from genrekit.features.base import FeatureSet
from genrekit.models.bundle import GenreModel
from genrekit.models.bundle import load_model as load_bundle
from genrekit.models.card import ModelCard
from genrekit.models.ensemble import EnsembleFeatureSet

BUNDLED_MODEL = Path(__file__).parent / "data" / "models" / "default.genre"
"""The model genrekit ships, trained on GTZAN by ``make model``."""


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

    def top(self, k: int) -> list[tuple[str, float]]:
        """The ``k`` most probable genres, best first."""
        return sorted(self.probabilities.items(), key=lambda item: -item[1])[:k]

    def to_dict(self, top_k: int | None = None) -> dict[str, Any]:
        data = asdict(self)
        if top_k is not None:
            data["probabilities"] = dict(self.top(top_k))
        return data


class GenreClassifier:
    """A loaded model file and the feature set that makes its input, ready to classify files or signals.

    Build one with :func:`load_model` or :func:`classifier_for`, which know
    how a model's input is made; the classifier itself only runs it.
    """

    def __init__(self, bundle: GenreModel, feature_set: FeatureSet) -> None:
        self.bundle = bundle
        self.feature_set = feature_set
        if feature_set.column_names != list(bundle.columns):
            raise ModelFileError(f"{bundle.path}: the model's input columns differ from those of {feature_set.name}")
        self.windowing: Windowing = bundle.card.windowing
        self.aggregation: str = bundle.card.aggregation

    @property
    def labels(self) -> list[str]:
        return list(self.bundle.labels)

    @property
    def card(self) -> ModelCard:
        return self.bundle.card

    @property
    def sample_rate(self) -> int:
        return self.feature_set.sample_rate

    def window_probabilities(self, y: np.ndarray, path: str | os.PathLike[str] = "<signal>") -> tuple[np.ndarray, np.ndarray]:
        """Per-window ``(starts_seconds (n,), probabilities (n, n_labels))`` of a signal at :attr:`sample_rate`."""
        pieces = list(cut_windows(y, self.sample_rate, self.windowing, path))
        starts = np.array([start for start, _ in pieces])
        features = self.feature_set.extract_many([w for _, w in pieces], self.sample_rate)
        return starts, self.bundle.predict_proba(features)

    def predict_signal(self, y: np.ndarray, path: str | os.PathLike[str] = "<signal>") -> Prediction:
        """Classify a mono float32 signal already at :attr:`sample_rate`."""
        starts, probs = self.window_probabilities(y, path)
        _, track = aggregate_windows(probs, np.zeros(len(probs), dtype=int), method=self.aggregation)
        track = track[0]
        labels = self.labels
        window_len = self.windowing.window or len(y) / self.sample_rate
        total = len(y) / self.sample_rate
        segments = [
            Segment(
                start=round(float(start), 3),
                end=round(float(min(start + window_len, total)), 3),
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
        )

    def predict(self, path: str | os.PathLike[str]) -> Prediction:
        """Classify one audio file."""
        y = load_audio(path, sr=self.sample_rate)
        return self.predict_signal(y, path)

    def predict_many(self, paths: Iterable[str | os.PathLike[str]]) -> Iterator[Prediction | GenrekitError]:
        """Classify files one by one; a file that fails yields its error instead, and the rest go on."""
        for path in paths:
            try:
                yield self.predict(path)
            except GenrekitError as error:
                yield error


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


def load_model(path: str | os.PathLike[str] | None = None) -> GenreClassifier:
    """Load a ``.genre`` model file; with no path, the model bundled with genrekit."""
    if path is None:
        if not BUNDLED_MODEL.is_file():
            raise ModelFileError(f"the bundled model is missing at {BUNDLED_MODEL}; run `make model` to build it")
        path = BUNDLED_MODEL
    return classifier_for(load_bundle(path))
