"""The trainer contract: what every model kind's trainer takes, returns, and shares with the others.

A trainer turns a labelled collection and its typed config into a sealed
``.genre`` file. Trainers differ in what they learn (a scikit-learn
pipeline, a CNN, ensemble weights) but share how the collection is split,
how held-out tracks are scored (through the model file's own inference
path, :meth:`genrekit.models.bundle.GenreModel.predict_proba`), and how the
card is built (:meth:`genrekit.models.card.ModelCard.build`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, Protocol, Sequence

from genrekit.datasets import Record, load_dataset
from genrekit.errors import ConfigError, DatasetError, GroupLeakError
from genrekit.evaluation import assert_no_group_leak
from genrekit.models.card import ModelCard

Source = str | os.PathLike[str] | Sequence[Record]
"""A labelled collection: a path :func:`genrekit.datasets.load_dataset` reads, or its records."""


@dataclass(frozen=True)
class RunOptions:
    """How to run a training, not what to train: the same for every model kind.

    ``cache_dir``/``jobs``: the feature cache and its worker processes (a CNN
    decodes its tracks itself and uses neither). ``progress`` gets the
    trainer's progress reports. ``card_extra``: further top-level card
    entries (e.g. why this model was chosen).
    """

    cache_dir: str | os.PathLike[str] | None = None
    jobs: int = 1
    progress: Callable[[Any], None] | None = None
    card_extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class TrainResult:
    """What a training produced: the model file, its card, and the held-out scores."""

    path: Path
    card: ModelCard
    validation: dict[str, Any] | None
    search: dict[str, Any] | None = None
    failures: list[Any] = field(default_factory=list)


class Trainer(Protocol):
    """One model kind's trainer: ``config_type`` documents and types its settings."""

    kind: str
    config_type: ClassVar[type]

    def train(self, source: Source, out: Path, config: Any, run: RunOptions) -> TrainResult: ...


def make_config(config_type: type, config: Any, kind: str) -> Any:
    """``config`` as an instance of ``config_type``: None gives the defaults, a mapping its fields."""
    if config is None:
        return config_type()
    if isinstance(config, config_type):
        return config
    if isinstance(config, Mapping):
        known = {f.name for f in fields(config_type)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ConfigError(f"{kind}: unknown setting(s) {', '.join(unknown)}; {config_type.__name__} has "
                              f"{', '.join(sorted(known))}")
        return config_type(**config)
    raise ConfigError(f"{kind} is configured by {config_type.__name__}, not {type(config).__name__}")


def load_records(source: Source) -> list[Record]:
    return load_dataset(source) if isinstance(source, (str, os.PathLike)) else list(source)


def split_for_training(source: Source, *, use_all: bool = False) -> tuple[list[Record], list[Record]]:
    """The labelled records of ``source`` as ``(train, valid)``.

    A collection without a train split, or ``use_all``, trains on everything
    and validates on nothing. Raises :class:`DatasetError` when there is
    nothing labelled, or when a group (track or artist) sits on both sides.
    """
    records = [r for r in load_records(source) if r.label is not None]
    if not records:
        raise DatasetError(f"{source}: no labelled audio files found")
    if use_all or not any(r.split == "train" for r in records):
        return records, []
    train_records = [r for r in records if r.split == "train"]
    valid_records = [r for r in records if r.split == "valid"]
    try:
        assert_no_group_leak([r.group for r in train_records], [r.group for r in valid_records])
    except GroupLeakError as error:
        raise DatasetError(f"{source}: the train and valid splits share groups (tracks or artists): {error}") from None
    return train_records, valid_records


def training_split_name(train_records: Sequence[Record], valid_records: Sequence[Record], use_all: bool) -> str:
    """What the card calls the data a model learned from: ``train`` when a valid split was held out, else ``all``."""
    has_splits = bool(valid_records) or any(r.split == "train" for r in train_records)
    return "all" if (use_all or not has_splits) else "train"


def check_labels(source: Source, labels: Sequence[str]) -> None:
    if len(set(labels)) < 2:
        raise DatasetError(f"{source}: training needs at least two labels, found {sorted(set(labels))}")


__all__ = ["RunOptions", "Source", "TrainResult", "Trainer", "check_labels", "load_records", "make_config",
           "split_for_training", "training_split_name"]
