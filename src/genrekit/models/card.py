"""The model card: what a ``.genre`` file says about its model, typed, and validated in one place.

A card is written as one JSON object (``card.json``, format_version 1). Its
parts are dataclasses here; :meth:`ModelCard.from_json` is the only place a
card read from a file is checked, field by field and with bounds, so a
hostile or damaged card gives a :class:`~genrekit.errors.ModelFileError`
naming the field instead of a traceback further down. :meth:`ModelCard.to_json`
gives back exactly the object that was read (the integrity hashes are taken
over it), so files written before the typed card load and re-seal unchanged.

Builders (:meth:`FeatureSpec.of`, :meth:`TrainingSummary.of`,
:meth:`ValidationSummary.of`) are what every trainer uses, so the fields
prediction reads are written one way for every kind of model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping, Sequence

from genrekit.audio import Windowing
from genrekit.datasets import Record, label_counts
from genrekit.errors import ModelFileError
from genrekit.evaluation import AGGREGATION_METHODS
from genrekit.features.base import FeatureSet

FORMAT = "genrekit-model"
FORMAT_VERSION = 1

MAX_DEPTH = 32
"""Deepest nesting a card may have: a card nested 10^5 levels deep is an attack, not a model."""
MAX_LABELS = 1000
MAX_COLUMNS = 1_000_000
MAX_NAME_CHARS = 256
SAMPLE_RATES = (1000, 192_000)
"""Lowest and highest sample rate (Hz) a feature set may ask for."""
WINDOW_SECONDS = (0.05, 3600.0)
"""Shortest and longest window or hop (seconds) a card may ask for."""
DEFAULT_PRECISION = "float32"
"""What a card without ``model.precision`` computes in: every graph written before the field existed."""
HEADLINE_METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "log_loss", "ece")

_PREDICTION_KEYS = ("labels", "feature_set", "columns", "windowing", "aggregation")
CALIBRATION_METHODS = ("temperature",)
TEMPERATURE_RANGE = (0.01, 100.0)
"""Temperatures a card may record: beyond these the "calibration" would be an attack or a bug."""
_SEALED_KEYS = ("format", "format_version", "created_at", "genrekit_version", "onnx", "members", "card_sha256")
_PARTS = (*_PREDICTION_KEYS, "model", "training", "validation")
_OPTIONAL_PARTS = ("calibration",)


class _Checker:
    """Raises ModelFileError naming ``where`` and the field; keeps validation messages one shape."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, name: str, message: str) -> None:
        raise ModelFileError(f"{self.where}: card field {name!r}: {message}")

    def mapping(self, value: Any, name: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(name, f"must be a JSON object, got {type(value).__name__}")
        return value

    def text(self, value: Any, name: str, *, limit: int = MAX_NAME_CHARS, empty: bool = False) -> str:
        if not isinstance(value, str) or (not value and not empty) or len(value) > limit:
            self.fail(name, f"must be a {'' if empty else 'non-empty '}string of at most {limit} characters")
        return value

    def integer(self, value: Any, name: str, low: int, high: int) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.fail(name, f"must be a whole number from {low} to {high}, got {value!r}")
        return value

    def seconds(self, value: Any, name: str) -> float | None:
        if value is None:
            return None
        low, high = WINDOW_SECONDS
        if (not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value)
                or not low <= value <= high):
            self.fail(name, f"must be null or a number of seconds from {low} to {high:g}, got {value!r}")
        return value

    def names(self, value: Any, name: str, limit: int) -> tuple[str, ...]:
        if not isinstance(value, list) or not value or len(value) > limit:
            self.fail(name, f"must be a non-empty list of at most {limit} strings")
        for item in value:
            self.text(item, name)
        if len(set(value)) != len(value):
            self.fail(name, "must not repeat a name")
        return tuple(value)


def json_depth_ok(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` (parsed JSON) nests at most ``limit`` levels; iterative, so it cannot overflow the stack."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


# ----------------------------------------------------------------------------- parts


@dataclass(frozen=True)
class FeatureSpec:
    """Which feature set, at which version and sample rate, with which options, makes the model's input."""

    name: str
    version: str
    sample_rate: int
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, feature_set: FeatureSet) -> FeatureSpec:
        config = feature_set.config()
        return cls(config["name"], str(config["version"]), int(config["sample_rate"]), dict(config["options"]))

    @classmethod
    def from_json(cls, data: Any, check: _Checker, name: str = "feature_set") -> FeatureSpec:
        data = check.mapping(data, name)
        version = data.get("version")
        if not isinstance(version, (str, int)) or isinstance(version, bool):
            check.fail(f"{name}.version", "must be a string")
        rate = check.integer(data.get("sample_rate"), f"{name}.sample_rate", *SAMPLE_RATES)
        options = check.mapping(data.get("options", {}), f"{name}.options")
        return cls(check.text(data.get("name"), f"{name}.name"), version, rate, options)  # type: ignore[arg-type]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "sample_rate": self.sample_rate, "options": self.options}


@dataclass(frozen=True)
class OnnxSpec:
    """Which member of the file is the classifier graph, and its input and output names."""

    member: str = "model.onnx"
    input: str = "features"
    output: str = "probabilities"

    @classmethod
    def from_json(cls, data: Any, check: _Checker) -> OnnxSpec:
        data = check.mapping(data, "onnx")
        return cls(*(check.text(data.get(k), f"onnx.{k}") for k in ("member", "input", "output")))

    def to_json(self) -> dict[str, str]:
        return {"member": self.member, "input": self.input, "output": self.output}


ENSEMBLE_KIND = "ensemble"  # genrekit.models.ensemble.KIND; not imported, since that module imports this one
MAX_MEMBERS = 64


@dataclass(frozen=True)
class ModelInfo:
    """What kind of model this is (``svm``, ``cnn``, ``ensemble``, ...) and what its trainer recorded about it.

    ``details["precision"]``, when present, names what the graph computes in (see :attr:`ModelCard.precision`).
    """

    kind: str
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any, check: _Checker) -> ModelInfo:
        data = dict(check.mapping(data, "model"))
        kind = check.text(data.pop("kind", None), "model.kind")
        if "precision" in data:
            check.text(data["precision"], "model.precision", limit=32)
        if kind == ENSEMBLE_KIND:  # prediction builds one member per entry: check them before anything runs
            members = data.get("members")
            if not isinstance(members, list) or not 2 <= len(members) <= MAX_MEMBERS:
                check.fail("model.members", f"an ensemble lists 2 to {MAX_MEMBERS} members")
            for i, member in enumerate(members):
                check.text(check.mapping(member, f"model.members[{i}]").get("name"), f"model.members[{i}].name")
        return cls(kind, data)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.details}

    @property
    def members(self) -> list[dict[str, Any]]:
        """An ensemble's member entries (name, kind, weight, ...); empty for a single model."""
        return list(self.details.get("members") or [])


@dataclass(frozen=True)
class TrainingSummary:
    """What the model learned from: the collection, the split, counts per label, and trainer-specific notes."""

    source: str
    split: str
    n_tracks: int
    n_windows: int
    tracks_per_label: dict[str, int] = field(default_factory=dict)
    failed_files: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    _KEYS = ("source", "split", "n_tracks", "n_windows", "tracks_per_label", "failed_files")

    @classmethod
    def of(cls, source: Any, records: Iterable[Record], *, split: str, n_windows: int, failed_files: int = 0,
           **extra: Any) -> TrainingSummary:
        """The summary of training on ``records`` (their labels counted by :func:`genrekit.datasets.label_counts`)."""
        records = list(records)
        counts = {str(k): v for k, v in label_counts(records).items() if k is not None}
        return cls(source=source_name(source), split=split, n_tracks=len({r.path for r in records}),
                   n_windows=int(n_windows), tracks_per_label=counts, failed_files=int(failed_files), extra=extra)

    @classmethod
    def from_json(cls, data: Any, check: _Checker) -> TrainingSummary:
        data = dict(check.mapping(data, "training"))
        counts = check.mapping(data.pop("tracks_per_label", {}), "training.tracks_per_label")
        for label, n in counts.items():
            check.integer(n, f"training.tracks_per_label.{label}", 0, 10**9)
        numbers = {k: check.integer(data.pop(k, 0), f"training.{k}", 0, 10**12)
                   for k in ("n_tracks", "n_windows", "failed_files")}
        return cls(source=check.text(data.pop("source", ""), "training.source", limit=4096, empty=True),
                   split=check.text(data.pop("split", ""), "training.split", empty=True),
                   tracks_per_label=counts, extra=data, **numbers)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "split": self.split, "tracks_per_label": self.tracks_per_label,
                "n_tracks": self.n_tracks, "n_windows": self.n_windows, "failed_files": self.failed_files,
                **self.extra}


def headline(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The figures a card keeps of :func:`genrekit.evaluation.classification_metrics`."""
    return {k: metrics[k] for k in HEADLINE_METRICS if k in metrics} | {"n_tracks": metrics.get("n_samples")}


@dataclass(frozen=True)
class ValidationSummary:
    """Scores measured on held-out tracks, with the split named (``split="none"``: nothing was held out)."""

    split: str
    metrics: dict[str, Any] = field(default_factory=dict)
    level: str | None = None
    per_class: dict[str, Any] | None = None
    confusion: dict[str, Any] | None = None
    window_metrics: dict[str, Any] | None = None
    note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, track_metrics: Mapping[str, Any], window_metrics: Mapping[str, Any], *, split: str = "valid",
           note: str | None = None, **extra: Any) -> ValidationSummary:
        """The summary of track- and window-level :func:`~genrekit.evaluation.classification_metrics`."""
        return cls(split=split, level="track", metrics=headline(track_metrics),
                   per_class=track_metrics["per_class"], confusion=track_metrics["confusion"],
                   window_metrics=headline(window_metrics), note=note, extra=extra)

    @classmethod
    def nothing_held_out(cls, note: str = "trained on every file: nothing was held out") -> ValidationSummary:
        return cls(split="none", note=note)

    @property
    def measured(self) -> bool:
        return self.split != "none" and bool(self.metrics)

    @classmethod
    def from_json(cls, data: Any, check: _Checker) -> ValidationSummary:
        data = dict(check.mapping(data, "validation"))
        split = check.text(data.pop("split", None), "validation.split")
        parts = {k: check.mapping(data.pop(k), f"validation.{k}") for k in
                 ("metrics", "per_class", "confusion", "window_metrics") if data.get(k) is not None}
        for k in ("level", "note"):
            if data.get(k) is not None:
                parts[k] = check.text(data.pop(k), f"validation.{k}", limit=4096)
        return cls(split=split, extra=data, **parts)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"split": self.split}
        for k in ("level", "metrics", "per_class", "confusion", "window_metrics", "note"):
            value = getattr(self, k)
            if value is not None and not (k == "metrics" and not value and self.split == "none"):
                out[k] = value
        return out | self.extra

    def with_extra(self, **extra: Any) -> ValidationSummary:
        return replace(self, extra=self.extra | extra)


@dataclass(frozen=True)
class CalibrationSpec:
    """How the model's probabilities were calibrated after training, and on which predictions.

    The calibration is part of the classifier graph (``model.onnx`` ends in
    it: :func:`genrekit.models.calibration.calibrate_file`), so every path
    that runs the model applies it and files without it run as they always
    did. The card records it so people can see what "0.8" means and so a
    model is never calibrated twice. ``fit_on`` names the held-out
    predictions the temperature was fit on; ``extra`` keeps figures such as
    the ECE before and after.
    """

    method: str
    temperature: float
    fit_on: str
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any, check: _Checker) -> CalibrationSpec:
        data = dict(check.mapping(data, "calibration"))
        method = data.pop("method", None)
        if method not in CALIBRATION_METHODS:
            check.fail("calibration.method", f"must be one of {', '.join(CALIBRATION_METHODS)}, got {method!r}")
        t = data.pop("temperature", None)
        low, high = TEMPERATURE_RANGE
        if (not isinstance(t, (int, float)) or isinstance(t, bool) or not math.isfinite(t)
                or not low <= t <= high):
            check.fail("calibration.temperature", f"must be a number from {low} to {high:g}, got {t!r}")
        fit_on = check.text(data.pop("fit_on", None), "calibration.fit_on", limit=4096)
        return cls(method, t, fit_on, data)  # type: ignore[arg-type]

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "temperature": self.temperature, "fit_on": self.fit_on, **self.extra}


def source_name(source: Any) -> str:
    """How a card names the collection a model was trained on."""
    import os

    return str(source) if isinstance(source, (str, os.PathLike)) else "records"


# ----------------------------------------------------------------------------- the card


@dataclass(frozen=True)
class ModelCard:
    """Everything a model file says about its model.

    The first five fields are what prediction reads; ``model``, ``training``
    and ``validation`` are provenance; ``extra`` holds further top-level
    entries (e.g. ``selection``: why this model was chosen). The sealed
    fields (``onnx`` onwards) are filled in by
    :func:`genrekit.models.bundle.save_model`.
    """

    labels: tuple[str, ...]
    feature_set: FeatureSpec
    columns: tuple[str, ...]
    windowing: Windowing
    aggregation: str
    model: ModelInfo
    training: TrainingSummary
    validation: ValidationSummary
    extra: dict[str, Any] = field(default_factory=dict)
    calibration: CalibrationSpec | None = None
    onnx: OnnxSpec | None = None
    members: dict[str, str] = field(default_factory=dict)
    created_at: str | None = None
    genrekit_version: str | None = None
    format_version: int = FORMAT_VERSION
    card_sha256: str | None = None

    @classmethod
    def build(cls, *, labels: Sequence[str], feature_set: FeatureSet, windowing: Windowing, aggregation: str,
              model: ModelInfo, training: TrainingSummary, validation: ValidationSummary | None,
              extra: Mapping[str, Any] | None = None) -> ModelCard:
        """The card of a freshly trained model (unsealed): one builder for every model kind."""
        card = cls(labels=tuple(str(x) for x in labels), feature_set=FeatureSpec.of(feature_set),
                   columns=tuple(feature_set.column_names), windowing=windowing, aggregation=aggregation,
                   model=model, training=training,
                   validation=validation or ValidationSummary.nothing_held_out(), extra=dict(extra or {}))
        return cls.from_json(card.to_json(), where="new card", sealed=False)  # the same checks as a file's card

    @classmethod
    def from_json(cls, data: Any, *, where: str = "card", sealed: bool = True) -> ModelCard:
        """Check and type a card object; raises ModelFileError naming the first bad field.

        ``sealed=False`` accepts a card that has not been through
        :func:`~genrekit.models.bundle.save_model` yet (no hashes, no ``onnx``).
        """
        check = _Checker(where)
        data = check.mapping(data, "card")
        if not json_depth_ok(data):
            check.fail("card", f"nests deeper than {MAX_DEPTH} levels")
        missing = [k for k in _PARTS if k not in data]
        if missing:
            check.fail(missing[0], f"is missing (a card needs {', '.join(_PARTS)})")
        if sealed:
            if data.get("format") != FORMAT:
                check.fail("format", f"must be {FORMAT!r} (not a genrekit model file)")
            version = check.integer(data.get("format_version"), "format_version", 1, 10**6)
            if version > FORMAT_VERSION:
                raise ModelFileError(f"{where}: made by a newer genrekit (format_version {version}; this genrekit "
                                     f"reads up to {FORMAT_VERSION}): upgrade genrekit to use it")
        win = check.mapping(data["windowing"], "windowing")
        window, hop = check.seconds(win.get("window"), "windowing.window"), check.seconds(win.get("hop"), "windowing.hop")
        if set(win) - {"window", "hop"}:
            check.fail("windowing", f"has unknown key(s) {sorted(set(win) - {'window', 'hop'})}")
        aggregation = data["aggregation"]
        if aggregation not in AGGREGATION_METHODS:
            check.fail("aggregation", f"must be one of {', '.join(AGGREGATION_METHODS)}, got {aggregation!r}")
        members = check.mapping(data.get("members", {}), "members")
        for name, digest in members.items():
            check.text(name, "members")
            check.text(digest, f"members.{name}", limit=64)
        onnx = OnnxSpec.from_json(data["onnx"], check) if sealed or data.get("onnx") else None
        known = set(_PARTS) | set(_OPTIONAL_PARTS) | set(_SEALED_KEYS)
        calibration = CalibrationSpec.from_json(data["calibration"], check) if "calibration" in data else None
        return cls(
            labels=check.names(data["labels"], "labels", MAX_LABELS),
            feature_set=FeatureSpec.from_json(data["feature_set"], check),
            columns=check.names(data["columns"], "columns", MAX_COLUMNS),
            windowing=Windowing(window=window, hop=hop),
            aggregation=aggregation,
            model=ModelInfo.from_json(data["model"], check),
            training=TrainingSummary.from_json(data["training"], check),
            validation=ValidationSummary.from_json(data["validation"], check),
            extra={k: v for k, v in data.items() if k not in known},
            calibration=calibration,
            onnx=onnx,
            members=dict(members),
            created_at=data.get("created_at"),
            genrekit_version=data.get("genrekit_version"),
            format_version=data.get("format_version", FORMAT_VERSION),
            card_sha256=data.get("card_sha256"),
        )

    def to_json(self) -> dict[str, Any]:
        """The card as the JSON object a model file holds (the inverse of :meth:`from_json`)."""
        out: dict[str, Any] = {
            "labels": list(self.labels),
            "feature_set": self.feature_set.to_json(),
            "columns": list(self.columns),
            "windowing": self.windowing.as_dict(),
            "aggregation": self.aggregation,
            "model": self.model.to_json(),
            "training": self.training.to_json(),
            "validation": self.validation.to_json(),
            **self.extra,
        }
        if self.calibration is not None:
            out["calibration"] = self.calibration.to_json()
        if self.card_sha256 is not None or self.onnx is not None:
            out |= {"format": FORMAT, "format_version": self.format_version, "created_at": self.created_at,
                    "genrekit_version": self.genrekit_version, "members": self.members}
            if self.onnx is not None:
                out["onnx"] = self.onnx.to_json()
            if self.card_sha256 is not None:
                out["card_sha256"] = self.card_sha256
        return out

    @property
    def kind(self) -> str:
        return self.model.kind

    @property
    def precision(self) -> str:
        """What the classifier graph computes in (``model.precision``: ``"float32"``, ``"int8"``, ...).

        Cards written before the field existed hold float32 graphs (float16 weights are cast to float32).
        """
        return self.model.details.get("precision", DEFAULT_PRECISION)

    @property
    def sealed(self) -> bool:
        return self.card_sha256 is not None


__all__ = ["CalibrationSpec", "DEFAULT_PRECISION", "FORMAT", "FORMAT_VERSION", "FeatureSpec", "HEADLINE_METRICS", "ModelCard", "ModelInfo", "OnnxSpec",
           "TrainingSummary", "ValidationSummary", "headline", "json_depth_ok", "source_name"]
