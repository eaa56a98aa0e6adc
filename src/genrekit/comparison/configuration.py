"""What a training run trained, everything but its seed: the key runs are grouped, compared and retrained by.

Runs are recorded in three shapes: rows of the classical comparison
(``model``, ``feature_set``, ``window`` as ``"30 s"``), CNN and ensemble run
records (``kind``, ``init``, ``fine_tune``, ``stop_on``; an ensemble's
``member_recipes``) and model cards. Each is read into one
:class:`Configuration`, so grouping and choosing compare fields, never
display names: :attr:`Configuration.name` and :attr:`Configuration.summary`
are derived from the fields, for tables and logs only.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from genrekit.errors import ConfigError

if TYPE_CHECKING:
    from genrekit.trainers import TrainResult

NETWORK_KINDS = ("cnn", "ensemble")
"""Kinds that are not a classical estimator (those are named by the estimator: ``svm``, ``rf``, ...)."""
WHOLE_FILES = "whole files"
"""The window label of one window per file (``window=None``)."""


def window_label(seconds: float | None) -> str:
    """How the comparison's rows write a window: ``30 s`` (``None``, one window per file: ``whole files``)."""
    return WHOLE_FILES if seconds is None else f"{seconds:g} s"


def window_seconds(label: str) -> float | None:
    """The inverse of :func:`window_label`; a bare number of seconds is read too."""
    return None if label == WHOLE_FILES else float(label.split()[0])


@dataclass(frozen=True)
class Configuration:
    """A trainable configuration: runs that differ only by seed share one.

    ``kind`` is what :func:`genrekit.training.train` takes: an estimator name,
    ``cnn`` or ``ensemble``. Classical estimators use ``feature_set`` and
    ``window`` (seconds); CNNs ``init``, ``fine_tune`` (how deep training
    reaches into musicnn's pretrained layers; ``None`` for other inits, which
    train every layer) and ``stop_on`` (the split early stopping scored);
    ensembles their ``members``. ``described_as`` keeps the free-text recipe
    of ensemble records that predate ``member_recipes``: it tells such
    records apart, and nothing else.
    """

    kind: str
    feature_set: str | None = None
    window: float | None = None
    init: str | None = None
    fine_tune: str | None = None
    stop_on: str | None = None
    members: tuple[Configuration, ...] = ()
    described_as: str | None = None

    @classmethod
    def classic(cls, model: str, feature_set: str, window: float | None) -> Configuration:
        return cls(model, feature_set=feature_set, window=None if window is None else float(window))

    @classmethod
    def cnn(cls, init: str, fine_tune: str | None = None, stop_on: str | None = None) -> Configuration:
        return cls("cnn", init=init, fine_tune=fine_tune if init == "musicnn" else None, stop_on=stop_on)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Configuration:
        """A row of the classical comparison (:func:`genrekit.comparison.classic.compare`)."""
        return cls.classic(row["model"], row["feature_set"], window_seconds(row["window"]))

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Configuration:
        """A CNN or ensemble run record, or one of an ensemble record's ``member_recipes``."""
        kind = record.get("kind", "cnn")
        if kind == "classic":
            return cls.classic(record["model"], record["feature_set"], record["window"])
        if kind == "ensemble":
            members = tuple(cls.from_record(m) for m in record.get("member_recipes") or ())
            return cls("ensemble", members=members, described_as=None if members else record.get("recipe"))
        return cls.cnn(record["init"], record.get("fine_tune"), record.get("stop_on"))

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> Configuration:
        """The configuration a model card (as JSON) was trained with; an ensemble's card does not say."""
        model = card["model"]
        if model.get("kind") == "ensemble":
            raise ConfigError("an ensemble's card does not say how its members were trained")
        if model.get("kind") == "cnn":  # cards written before early stopping had a split of its own stopped on valid
            stop_on = card["training"].get("early_stopping", {"on": "valid"})["on"]
            return cls.cnn(model["init"], model.get("fine_tune"), stop_on)
        return cls.classic(model["kind"], card["feature_set"]["name"], card["windowing"]["window"])

    def to_recipe(self) -> dict[str, Any]:
        """The record fields :meth:`from_record` reads back."""
        if self.kind == "cnn":
            return {"kind": "cnn", "init": self.init, "fine_tune": self.fine_tune, "stop_on": self.stop_on}
        if self.kind == "ensemble":
            return {"kind": "ensemble", "recipe": self.summary, "member_recipes": [m.to_recipe() for m in self.members]}
        return {"kind": "classic", "model": self.kind, "feature_set": self.feature_set, "window": self.window}

    @property
    def is_classic(self) -> bool:
        return self.kind not in NETWORK_KINDS

    @property
    def epoch_chosen_on_valid(self) -> bool:
        """Whether early stopping (of this CNN, or of an ensemble's member) scored the valid split."""
        return self.stop_on == "valid" or any(m.epoch_chosen_on_valid for m in self.members)

    @property
    def name(self) -> str:
        """For tables: ``svm on default, 30 s windows``, ``CNN, --init musicnn, new head on frozen musicnn``."""
        if self.is_classic:
            windows = WHOLE_FILES if self.window is None else f"{window_label(self.window)} windows"
            return f"{self.summary}, {windows}"
        if self.kind == "ensemble":
            return f"ensemble ({self.summary})"
        tuned = ""
        if self.fine_tune == "head":
            tuned = ", new head on frozen musicnn"
        elif self.fine_tune:
            tuned = f", fine-tuned from the {self.fine_tune} up"
        stopped = ", epoch chosen on valid (optimistic)" if self.stop_on == "valid" else ""
        return f"CNN, --init {self.init}{tuned}{stopped}"

    @property
    def summary(self) -> str:
        """In a few words, as an ensemble's name lists its members: ``logreg on default``, ``CNN musicnn``."""
        if self.is_classic:
            return f"{self.kind} on {self.feature_set}"
        if self.kind == "ensemble":
            return " + ".join(m.summary for m in self.members) if self.members else str(self.described_as)
        return f"CNN {self.init}" + (" with its epoch chosen on valid" if self.stop_on == "valid" else "")


def train_configuration(
    configuration: Configuration,
    source: str | os.PathLike[str] | Sequence[Any],
    out: str | os.PathLike[str],
    *,
    seed: int = 0,
    cache_dir: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    card_extra: dict[str, Any] | None = None,
    log: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train ``configuration`` on ``source`` into ``out`` with :func:`genrekit.training.train`.

    An ensemble's members are trained first (same ``seed``) into a temporary
    folder: the ensemble file carries them inside. ``log`` hears of each member.
    """
    from genrekit.trainers import ClassicConfig, CNNConfig, EnsembleConfig
    from genrekit.training import train

    common: dict[str, Any] = {"cache_dir": cache_dir, "jobs": jobs, "card_extra": card_extra}
    if configuration.is_classic:
        config: Any = ClassicConfig(feature_set=configuration.feature_set, window=configuration.window, seed=seed)
        return train(source, out, configuration.kind, config, **common)
    if configuration.kind == "cnn":
        stop_on = {"stop_on": configuration.stop_on} if configuration.stop_on else {}
        config = CNNConfig(init=configuration.init, fine_tune=configuration.fine_tune, seed=seed, **stop_on)
        return train(source, out, "cnn", config, **common)
    if not configuration.members:
        raise ConfigError(f"{configuration.name}: its records do not say how to train its members")
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, member in enumerate(configuration.members):
            if log:
                log(f"training member {i}: {member.name}")
            paths.append(Path(tmp) / f"member{i}.genre")
            train_configuration(member, source, paths[-1], seed=seed, cache_dir=cache_dir, jobs=jobs, log=log)
        return train(source, out, "ensemble", EnsembleConfig(members=tuple(map(str, paths)), seed=seed), **common)
