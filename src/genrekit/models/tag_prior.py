"""A zero-shot prior from musicnn's own genre tags, added to a probe's verdict.

Why: a probe fit on GTZAN's 89 valid tracks learns rock, pop, hip-hop and
reggae from two tracks each, yet the network it reads already scores tags
named after most of those genres (MSD's ``rock``, ``jazz``, ``Hip-Hop``,
MTT's ``classical``). Those scores need no labelled data. Per window the
probe's log-probabilities get ``weight * z``, where ``z`` is each label's
tag score (the largest of its mapped tags) standardised over the training
windows, and a softmax renormalises; labels with no mapped tag get nothing.
The weight is chosen by grouped cross-validation on the training tracks,
from a grid that includes 0, so a prior that does not help switches itself
off. Measured on GTZAN's two-way yardstick in docs/results.md.

The probe reads every column but the tag scores; the prior reads only the
tag scores the mapping names. Both live in one ONNX graph
(:meth:`TagPrior.graph`), so every path that runs a model file applies the
prior without knowing about it, as it does a temperature
(:mod:`genrekit.models.calibration`).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import numpy as np

from genrekit.errors import ConfigError
from genrekit.musicnn.labels import MSD_LABELS, MTT_LABELS, slug

GENRE_TAGS: dict[str, dict[str, tuple[str, ...]]] = {
    "blues": {"MSD": ("blues",)},
    "classical": {"MTT": ("classical", "classic")},
    "country": {"MSD": ("country",), "MTT": ("country",)},
    "disco": {"MSD": ("dance", "70s", "funk"), "MTT": ("dance",)},
    "hiphop": {"MSD": ("Hip-Hop", "rnb")},
    "jazz": {"MSD": ("jazz",)},
    "metal": {"MSD": ("metal", "heavy metal"), "MTT": ("metal",)},
    "pop": {"MSD": ("pop",), "MTT": ("pop",)},
    "rock": {"MSD": ("rock", "classic rock", "hard rock"), "MTT": ("rock",)},
    "electronic": {"MSD": ("electronic", "electronica", "electro"), "MTT": ("electronic", "techno")},
    "dance": {"MSD": ("dance",), "MTT": ("dance",)},
    "house": {"MSD": ("House",)},
    "techno": {"MTT": ("techno",)},
    "ambient": {"MSD": ("ambient",), "MTT": ("ambient",)},
    "folk": {"MSD": ("folk",)},
    "punk": {"MSD": ("punk",)},
    "soul": {"MSD": ("soul",)},
    "funk": {"MSD": ("funk",)},
    "rnb": {"MSD": ("rnb",)},
    "indie": {"MSD": ("indie", "indie rock", "indie pop")},
    "alternative": {"MSD": ("alternative", "alternative rock")},
    "newage": {"MTT": ("new age",)},
    "opera": {"MTT": ("opera",)},
}
"""Genre (its :func:`genre_key`) -> the tags of each vocabulary that name it or its closest kin (GTZAN's disco is
1970s dance music rooted in funk; hip-hop sits beside R&B in MSD's tags). Written from the tags' meaning, not fit."""

VOCABULARIES: dict[str, tuple[str, ...]] = {"MSD": MSD_LABELS, "MTT": MTT_LABELS}
WEIGHTS: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
"""The weights grouped cross-validation chooses from (ties go to the smaller)."""
FLOOR = 1e-12
_TAG_COLUMN = re.compile(r"^(msd|mtt)_(musicnn|vgg)_taggram_mean_(.+)$")
_ANY_TAG_COLUMN = re.compile(r"_(taggram|tag)_")


def genre_key(label: str) -> str:
    """``"Hip-Hop"``, ``"hip hop"`` and ``"hiphop"`` are one genre: lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]", "", label.lower())


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class TagPrior:
    """Which columns feed the probe and the prior, the prior's standardisation and its weight.

    ``groups[i]``: the column indices whose largest value is label ``i``'s tag score (empty: no prior for it);
    ``mean``/``scale``: that score's mean and standard deviation over the training windows.
    """

    labels: tuple[str, ...]
    n_features: int
    probe_columns: tuple[int, ...]
    groups: tuple[tuple[int, ...], ...]
    tags: tuple[tuple[str, ...], ...] = ()
    mean: tuple[float, ...] = ()
    scale: tuple[float, ...] = ()
    weight: float = 0.0
    cv: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def plan(cls, columns: Sequence[str], labels: Sequence[str]) -> TagPrior:
        """The prior ``labels`` can get from feature ``columns``; raises :class:`ConfigError` if none can."""
        found: dict[str, list[tuple[int, str]]] = {}
        for index, name in enumerate(columns):
            match = _TAG_COLUMN.match(name)
            if match is None:
                continue
            vocabulary = match.group(1).upper()
            by_slug = {slug(tag): tag for tag in VOCABULARIES[vocabulary]}
            tag = by_slug.get(match.group(3))
            if tag is not None:
                found.setdefault(vocabulary, []).append((index, tag))
        groups, tags = [], []
        for label in labels:
            wanted = GENRE_TAGS.get(genre_key(label), {})
            chosen = [(i, f"{vocabulary}:{tag}") for vocabulary, names in wanted.items()
                      for i, tag in found.get(vocabulary, []) if tag in names]
            groups.append(tuple(i for i, _ in chosen))
            tags.append(tuple(t for _, t in chosen))
        if not any(groups):
            raise ConfigError(
                "a tag prior needs musicnn tag scores for labels named after genres musicnn's tags know: use "
                "--set musicnn_tags (or musicnn with layers including taggram, pooling including mean); "
                f"known genres: {', '.join(sorted(GENRE_TAGS))}")
        probe = tuple(i for i, name in enumerate(columns) if not _ANY_TAG_COLUMN.search(name))
        if not probe:
            raise ConfigError("a tag prior needs columns besides the tag scores for its probe to read")
        return cls(tuple(labels), len(columns), probe, tuple(groups), tuple(tags))

    # ------------------------------------------------------------------ numbers

    @property
    def _has(self) -> np.ndarray:
        """Which labels the tags speak for."""
        return np.array([bool(g) for g in self.groups])

    def _raw(self, X: np.ndarray) -> np.ndarray:
        raw = np.zeros((len(X), len(self.labels)))
        for i, group in enumerate(self.groups):
            if group:
                raw[:, i] = np.asarray(X)[:, list(group)].max(axis=1)
        return raw

    def fit_statistics(self, X: np.ndarray) -> TagPrior:
        """This prior with its tag scores' mean and spread over training rows ``X`` (all columns)."""
        raw = self._raw(X)
        has = self._has
        mean = np.where(has, raw.mean(axis=0), 0.0)
        scale = np.where(has, raw.std(axis=0), 1.0)
        scale = np.where(scale > 1e-6, scale, 1e-6)
        return replace(self, mean=tuple(map(float, mean)), scale=tuple(map(float, scale)))

    def scores(self, X: np.ndarray) -> np.ndarray:
        """``z``: each label's standardised tag score per row (0 for labels without tags)."""
        return np.where(self._has, (self._raw(X) - np.array(self.mean)) / np.array(self.scale), 0.0)

    def probe_input(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X)[:, list(self.probe_columns)]

    def apply(self, probs: np.ndarray, X: np.ndarray, weight: float | None = None) -> np.ndarray:
        """The probe's ``probs`` (columns in :attr:`labels` order) with the prior of rows ``X`` added."""
        return self.combine(probs, self.scores(X), self.weight if weight is None else weight)

    @staticmethod
    def combine(probs: np.ndarray, z: np.ndarray, weight: float) -> np.ndarray:
        """``softmax(log(max(probs, 1e-12)) + weight * z)``: what the graph computes."""
        return _softmax(np.log(np.maximum(probs, FLOOR)) + weight * z)

    # ------------------------------------------------------------------ graph

    def graph(self, probe_bytes: bytes, output: str = "probabilities", input_name: str = "features") -> bytes:
        """One graph over all :attr:`n_features` columns: the probe graph ``probe_bytes`` on its columns, then
        ``softmax(log(max(p, 1e-12)) + weight * z)``. The probe's other outputs (its ``label``) are dropped:
        they would disagree with the prior's verdict."""
        import onnx  # deferred: building graphs is for training, not for prediction
        from onnx import TensorProto, helper, numpy_helper

        proto = onnx.load_model_from_string(probe_bytes)
        graph = proto.graph
        if [i.name for i in graph.input] != [input_name] or output not in [o.name for o in graph.output]:
            raise ConfigError(f"the probe graph must read {input_name!r} and give {output!r}")
        probe_in, raw = "probe_features", "probe_probabilities"
        for node in graph.node:
            node.input[:] = [probe_in if n == input_name else raw if n == output else n for n in node.input]
            node.output[:] = [raw if n == output else n for n in node.output]
        width = max(len(g) for g in self.groups)
        has = self._has
        slots = [np.array([g[min(k, len(g) - 1)] if g else 0 for g in self.groups], dtype=np.int64)
                 for k in range(width)]
        factor = np.where(has, self.weight / np.array(self.scale), 0.0).astype(np.float32)
        graph.initializer.extend([
            numpy_helper.from_array(np.array(self.probe_columns, dtype=np.int64), "prior_probe_columns"),
            *[numpy_helper.from_array(s, f"prior_slot{k}") for k, s in enumerate(slots)],
            numpy_helper.from_array(np.array(self.mean, dtype=np.float32), "prior_mean"),
            numpy_helper.from_array(factor, "prior_factor"),
            numpy_helper.from_array(np.array(FLOOR, dtype=np.float32), "prior_floor"),
        ])
        nodes = [helper.make_node("Gather", [input_name, "prior_probe_columns"], [probe_in], axis=1,
                                  name="prior_probe_columns")]
        nodes += [helper.make_node("Gather", [input_name, f"prior_slot{k}"], [f"prior_tag{k}"], axis=1,
                                   name=f"prior_tag{k}") for k in range(width)]
        nodes += [
            helper.make_node("Max", [f"prior_tag{k}" for k in range(width)], ["prior_score"], name="prior_score"),
            helper.make_node("Sub", ["prior_score", "prior_mean"], ["prior_centred"], name="prior_centre"),
            helper.make_node("Mul", ["prior_centred", "prior_factor"], ["prior_logits"], name="prior_weigh"),
            helper.make_node("Max", [raw, "prior_floor"], ["prior_floored"], name="prior_floor"),
            helper.make_node("Log", ["prior_floored"], ["prior_log"], name="prior_log"),
            helper.make_node("Add", ["prior_log", "prior_logits"], ["prior_sum"], name="prior_add"),
            helper.make_node("Softmax", ["prior_sum"], [output], axis=1, name="prior_softmax"),
        ]
        probe_nodes = list(graph.node)
        del graph.node[:]
        graph.node.extend(nodes[:1] + probe_nodes + nodes[1:])
        del graph.input[:]
        graph.input.append(helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [None, self.n_features]))
        kept = [o for o in graph.output if o.name == output]
        del graph.output[:]
        graph.output.extend(kept)
        onnx.checker.check_model(proto)
        return proto.SerializeToString()

    def describe(self) -> dict[str, Any]:
        """For a model card: the weight, how it was chosen, and which tags speak for which label."""
        chosen_by = "grouped cross-validation on the training tracks" if self.cv else "given"
        return {"weight": self.weight, "chosen_by": chosen_by,
                "weights_tried": list(WEIGHTS), "cv_balanced_accuracy": dict(self.cv),
                "tags": {label: list(t) for label, t in zip(self.labels, self.tags) if t},
                "probe_columns": len(self.probe_columns)}


@dataclass
class PriorFit:
    """A fitted probe and its prior; ``search``: the probe's grid search (``None`` without ``search``)."""

    pipeline: Any
    prior: TagPrior
    search: Any = None

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probabilities over all columns ``X``, in :attr:`TagPrior.labels` order (the pipeline's classes)."""
        return self.prior.apply(self.pipeline.predict_proba(self.prior.probe_input(X)), X)

    def export(self) -> bytes:
        """The probe and prior as one ONNX graph (serialised); :meth:`check` compares it with :meth:`predict_proba`."""
        from genrekit.models import bundle

        probe = bundle.export_pipeline(self.pipeline, len(self.prior.probe_columns))
        return self.prior.graph(probe.SerializeToString(), bundle.OUTPUT_NAME, bundle.INPUT_NAME)

    def check(self, model_bytes: bytes, X: np.ndarray, atol: float = 1e-4) -> float:
        """Largest |graph - Python| probability on rows ``X``; raise ValueError above ``atol`` (run once after export)."""
        from genrekit.models import bundle

        session = bundle.onnx_session(model_bytes, where="probe with tag prior")
        got = session.run([bundle.OUTPUT_NAME], {bundle.INPUT_NAME: np.ascontiguousarray(X, dtype=np.float32)})[0]
        err = float(np.max(np.abs(got - self.predict_proba(X)))) if len(X) else 0.0
        if err > atol:
            raise ValueError(f"the tag-prior graph differs from its Python form by {err:.3g} (> {atol})")
        return err


def fit(pipeline: Any, X: np.ndarray, y: np.ndarray, groups: np.ndarray, columns: Sequence[str], *,
        search: bool = False, seed: int = 0, weights: Sequence[float] = WEIGHTS, n_folds: int = 5,
        weight: float | None = None) -> PriorFit:
    """Fit ``pipeline`` (unfitted; ``search``: its grid tuned first) on the probe columns of ``X``, then the prior.

    The weight is chosen on the same grouped folds as the search (or :func:`genrekit.evaluation.grouped_folds`):
    each fold's probe is fit on its training tracks, the prior standardised on them, and every weight scored by
    track-level balanced accuracy (window probabilities averaged per track) pooled over the folds. Folds are
    grouped by ``groups``: with tracks as groups, one artist's tracks sit on both sides and the probe looks
    better on new music than it is, so the prior's weight comes out low. ``weight`` fixes it instead (chosen on
    artist-disjoint predictions, as scripts/two_way.py does for the bundled models).
    """
    from sklearn.base import clone

    from genrekit.evaluation import grouped_folds
    from genrekit.models import classic

    y = np.asarray(y)
    groups = np.asarray(groups)
    labels = sorted({str(v) for v in y})
    prior = TagPrior.plan(columns, labels)
    Xp = prior.probe_input(X)
    found = None
    if search:
        found = classic.search(pipeline, Xp, y, groups, seed=seed, cv=n_folds)
        pipeline, splits = found.pipeline, found.splits
    else:
        classic.fit_pipeline(pipeline, Xp, y, groups, seed=seed)
        splits = grouped_folds(y, groups, n_splits=n_folds, seed=seed)
    if [str(c) for c in pipeline.classes_] != labels:
        raise ValueError("the probe's classes are not its sorted labels")
    if weight is not None:
        if not (np.isfinite(weight) and weight >= 0):
            raise ConfigError(f"a tag prior's weight must be a number >= 0, got {weight!r}")
        return PriorFit(pipeline, replace(prior.fit_statistics(X), weight=float(weight)), found)
    held: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for train, test in splits:
        member = classic.fit_pipeline(clone(pipeline), Xp[train], y[train], groups[train], seed=seed)
        order = [[str(c) for c in member.classes_].index(label) for label in labels]
        stats = prior.fit_statistics(X[train])
        held.append((member.predict_proba(Xp[test])[:, order], stats.scores(X[test]), groups[test], y[test]))
    pooled = tuple(np.concatenate([h[k] for h in held]) for k in range(4))
    cv = {f"{w:g}": track_balanced_accuracy([pooled], labels, w)[0] for w in weights}
    prior = replace(prior.fit_statistics(X), weight=best_weight(cv, weights), cv=cv)
    return PriorFit(pipeline, prior, found)


def best_weight(scores: Mapping[str, float], weights: Sequence[float] = WEIGHTS) -> float:
    """The weight with the best score (keys ``f"{w:g}"``); ties go to the smaller."""
    return float(max(weights, key=lambda w: (round(scores[f"{w:g}"], 9), -w)))


def track_balanced_accuracy(parts: Sequence[tuple[np.ndarray, ...]], labels: Sequence[str],
                            weight: float) -> list[float]:
    """Track-level balanced accuracy of each ``(probe probs, z, track ids, truth)`` part at ``weight``
    (window probabilities averaged per track)."""
    from sklearn.metrics import balanced_accuracy_score

    from genrekit.evaluation import aggregate_windows

    out = []
    for probs, z, g, yy in parts:
        ids, track_probs = aggregate_windows(TagPrior.combine(probs, z, weight), g)
        first = dict(zip(g.tolist(), yy.tolist()))
        with warnings.catch_warnings():  # a fold may miss a rare label that verdicts still name: expected
            warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
            out.append(float(balanced_accuracy_score([first[t] for t in ids.tolist()],
                                                     [labels[i] for i in track_probs.argmax(axis=1)])))
    return out


__all__ = ["GENRE_TAGS", "PriorFit", "TagPrior", "WEIGHTS", "best_weight", "fit", "genre_key",
           "track_balanced_accuracy"]
