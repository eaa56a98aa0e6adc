"""The two-way yardstick: every candidate fit on train and scored on valid, then fit on valid and scored on train.

Both directions are artist-disjoint (GTZAN's fault-filtered split), so every
labelled clip is scored once by a model that never heard its artist
(:func:`genrekit.evaluation.two_way_directions`). For each candidate it
records both directions' track-level figures, their mean (what the rule in
:mod:`genrekit.selection` ranks by), its cost per decoded 30 s clip and its
file size, and a temperature fit out of fold: each direction's predictions
are tempered with the temperature fit on the *other* direction's, and the
temperature a shipped model gets is fit on both directions' held-out
predictions together. Writes docs/results-two-way.json and the
``two_way`` section of docs/results.md.

    python scripts/two_way.py --gtzan ../shared/gtzan -j 1 [--cnn-train FILE | --no-cnn]

Classic probes are fit in-process on cached feature tables (scikit-learn's
probabilities, which the exported ONNX graphs match within 1e-4). The CNN
baseline (musicnn with a new head, the model bundled before this yardstick)
needs a model file fit on the train split (``--cnn-train``: the previously
bundled file) and trains its valid -> train model here (several minutes).
Ensembles average their members' held-out track verdicts with equal weights:
nothing about them is fit on the clips they are scored on.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from genrekit.audio import Windowing, cut_windows
from genrekit.comparison.page import write_section
from genrekit.datasets import load_dataset
from genrekit.evaluation import (
    aggregate_windows,
    apply_temperature,
    classification_metrics,
    fit_temperature,
    reliability_bins,
    two_way_directions,
)
from genrekit.features import get_feature_set
from genrekit.features.sets import MUSICNN_PRESETS
from genrekit.models import bundle, classic, tag_prior
from genrekit.predict import BUNDLED_MODEL, load_model
from genrekit.selection import NoEligibleCandidate, TwoWayCandidate, choose_two_way, recipe_name
from genrekit.store import compute_features

REPO = Path(__file__).resolve().parents[1]
SECTION = "two_way"

WINDOW = 3.0
"""Every probe reads 3 s windows, one musicnn patch each: on a song, a ``fast`` verdict then analyses 12 patches, as
the CNN does; a probe on 30 s windows would analyse 60 (6 windows of 10 patches) for the same clip cost."""
LAYERS = {"layers": ["penultimate", "taggram"], "pooling": ["mean"]}
"""What each network gives a probe: its penultimate layer and its 50 tag scores (one pass; the mid-end would add
~60 % to the network's time, beyond the default's budget)."""
NETWORKS = {"msd": "MSD_musicnn", "mtt": "MTT_musicnn", "msdvgg": "MSD_vgg", "mttvgg": "MTT_vgg"}
PRESETS = {"msdpen": ("MSD_musicnn", "musicnn_penultimate"), "msdtags": ("MSD_musicnn", "musicnn_tags"),
           "mtttags": ("MTT_musicnn", "musicnn_tags")}
"""Named sets genrekit ships, on one network: ``musicnn_penultimate`` is the penultimate layer alone (mean over the
window's patch), the 200 units musicnn's authors recommend; ``musicnn_tags`` adds the 50 tag scores of the same pass,
which a tag prior reads."""
COMBINED = {"msd+mtt": ("msd", "mtt"), "all4": ("msd", "mtt", "msdvgg", "mttvgg"),
            "msdtags+mtttags": ("msdtags", "mtttags")}
"""Embeddings of several networks side by side (``musicnn+musicnn`` with one options mapping per member)."""

SINGLES: list[tuple[str, str, str]] = [
    (f"{model}-{rep}", model, rep) for rep in (*NETWORKS, *COMBINED) for model in ("logreg", "svm")
]
"""``(key, estimator, representation)``: a linear and an RBF probe on each network and on the combinations; rf, knn
and gbm trailed these on the valid split (docs/results.md) and are left out for time."""

SEARCHED: list[tuple[str, str, str]] = [("logreg-search-msd", "logreg", "msd"),
                                        ("logreg-search-msdpen", "logreg", "msdpen")]
"""Linear probes with their regularisation tuned first and no sigmoid calibrators (``genrekit train --search
--no-calibrate``): ``C`` by grouped cross-validation on the tracks each direction fits on
(:func:`genrekit.models.classic.search`; nothing of the scored direction is seen); a temperature still calibrates
them, out of fold, as it does every candidate. Added after the first run, which used default hyper-parameters and
calibration only (``--add``)."""

PRIOR: list[tuple[str, str, str]] = [("logreg-prior-msd", "logreg", "msdtags"),
                                     ("logreg-prior-msd+mtt", "logreg", "msdtags+mtttags")]
"""Searched linear probes on the penultimate layer(s) with musicnn's genre tags as a zero-shot prior
(``genrekit train --set musicnn_tags --search --no-calibrate --tag-prior``; :mod:`genrekit.models.tag_prior`): ``C``
and then the prior's weight by grouped cross-validation on the tracks each direction fits on. Added later (``--add``),
after a look at held-out directions showed the few-shot direction missing genres the tags name."""

ENSEMBLES: list[tuple[str, ...]] = [
    ("logreg-msd", "logreg-mtt"),
    ("logreg-msd", "logreg-mtt", "logreg-msdvgg", "logreg-mttvgg"),
    ("svm-msd", "svm-mtt", "svm-msdvgg", "svm-mttvgg"),
    ("cnn", "logreg-mtt"),
    ("cnn", "logreg-mtt", "logreg-msdvgg", "logreg-mttvgg"),
]
"""Equal-weight ensembles: one probe per network, and the CNN baseline beside probes on the other networks."""


def representation(rep: str) -> tuple[str, dict[str, Any]]:
    """``(feature set name, options)`` of a representation key."""
    if rep in NETWORKS:
        return "musicnn", {"model": NETWORKS[rep], **LAYERS}
    if rep in PRESETS:  # the options of a named set genrekit ships (`--set musicnn_penultimate`, ...)
        model, preset = PRESETS[rep]
        return "musicnn", {"model": model, **MUSICNN_PRESETS[preset]}
    parts = COMBINED[rep]
    return "+".join(["musicnn"] * len(parts)), {"members": [representation(p)[1] for p in parts]}


CNN_RECIPE = {"kind": "cnn", "init": "musicnn", "fine_tune": "head", "seed": 0, "window": 3.0}
"""``window``: the ensemble window it needs (its own is 2.976 s, musicnn's patch)."""


class HeldOut:
    """One candidate's held-out predictions: rows (windows, or whole tracks) with their track, truth and direction."""

    def __init__(self, probs: np.ndarray, tracks: np.ndarray, truth: np.ndarray, direction: np.ndarray) -> None:
        self.probs, self.tracks, self.truth, self.direction = probs, tracks, truth, direction

    def track_probs(self, mask: np.ndarray | None = None, temperature: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(track_ids, truth, probs)`` of the rows in ``mask``, tempered first when ``temperature`` is given."""
        mask = np.ones(len(self.probs), dtype=bool) if mask is None else mask
        p = self.probs[mask] if temperature is None else apply_temperature(self.probs[mask], temperature)
        ids, track = aggregate_windows(p, self.tracks[mask])
        truth = dict(zip(self.tracks[mask].tolist(), self.truth[mask].tolist()))
        return ids, np.array([truth[t] for t in ids.tolist()]), track

    def directions(self) -> list[str]:
        return list(dict.fromkeys(self.direction.tolist()))


def headline(metrics: dict[str, Any]) -> dict[str, Any]:
    keep = ("accuracy", "balanced_accuracy", "macro_f1", "log_loss", "ece", "mean_confidence")
    return {k: round(float(metrics[k]), 4) for k in keep} | {
        "n_tracks": metrics["n_samples"],
        "recall": {label: round(v["recall"], 3) for label, v in metrics["per_class"].items() if v["support"]}}


def score(held: HeldOut, labels: list[str]) -> dict[str, Any]:
    """Both directions' figures, and calibration out of fold (each direction tempered with the other's temperature)."""
    directions: dict[str, Any] = {}
    before_rows, after_rows = [], []
    names = held.directions()
    for name in names:
        mine = held.direction == name
        other = ~mine
        ids, truth, probs = held.track_probs(mine)
        figures = headline(classification_metrics(truth, probs, labels))
        t_other = fit_temperature(held.probs[other], held.tracks[other], held.truth[other], labels)
        _, _, tempered = held.track_probs(mine, t_other)
        after = classification_metrics(truth, tempered, labels)
        figures |= {"temperature_from_other_direction": round(t_other, 4), "ece_calibrated": round(after["ece"], 4),
                    "log_loss_calibrated": round(after["log_loss"], 4)}
        directions[name] = figures
        y_idx = np.array([labels.index(t) for t in truth])
        before_rows.append((y_idx, probs))
        after_rows.append((y_idx, tempered))
    t_all = fit_temperature(held.probs, held.tracks, held.truth, labels)

    def pooled(rows: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
        ece, bins = reliability_bins(np.concatenate([r[0] for r in rows]), np.concatenate([r[1] for r in rows]))
        return {"ece": round(ece, 4), "bins": bins}

    return {"directions": directions,
            "calibration": {"temperature_all_held_out": round(t_all, 4),
                            "pooled_before": pooled(before_rows), "pooled_after_cross_fit": pooled(after_rows)}}


SONG_SECONDS = 180


def _median_ms(run: Callable[[], Any], repeats: int) -> float:
    run()  # warm-up: sessions, mel bases
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return round(1000 * float(np.median(times)), 1)


def representation_costs(fs: Any, window: float | None, repeats: int = 3) -> tuple[float, float]:
    """``(ms per decoded 30 s clip, ms per decoded 3-minute song)`` to make a probe's features, the windows a
    ``fast`` verdict analyses (the probe's head is negligible beside them)."""
    from genrekit.predict import DEFAULT_MAX_WINDOWS, spread

    sr = fs.sample_rate
    costs = []
    for seconds in (30, SONG_SECONDS):
        signal = np.random.default_rng(0).uniform(-0.3, 0.3, seconds * sr).astype(np.float32)
        windows = [w for _, w in cut_windows(signal, sr, Windowing(window=window))]
        chosen = [windows[i] for i in spread(len(windows), DEFAULT_MAX_WINDOWS)]
        costs.append(_median_ms(lambda: fs.extract_many(chosen, sr), repeats))
    return costs[0], costs[1]


def model_costs(model_path: Path, repeats: int = 3) -> tuple[float, float]:
    """``(ms per decoded 30 s clip, ms per decoded 3-minute song)`` of a model file, as ``predict`` classifies them."""
    classifier = load_model(model_path)
    sr = classifier.sample_rate
    costs = []
    for seconds in (30, SONG_SECONDS):
        signal = np.random.default_rng(0).uniform(-0.3, 0.3, seconds * sr).astype(np.float32)
        costs.append(_median_ms(lambda: classifier.predict_signal(signal, sr, coverage="fast"), repeats))
    return costs[0], costs[1]


def probe_held_out(model: str, data: Any, labels: list[str], say: Callable[[str], None], *,
                   search: bool = False, prior: bool = False) -> tuple[HeldOut, float, float, dict[str, Any]]:
    """Fit ``model`` in each direction on ``data``'s windows (``search``: uncalibrated, its grid tuned first on the
    fit side's tracks, as ``genrekit train --search --no-calibrate`` does; ``prior``: with a tag prior, as
    ``--tag-prior`` adds); ``(held-out predictions, file MB extrapolated to every track, fit seconds, each
    direction's chosen parameters)``."""
    probs = np.zeros((len(data), len(labels)))
    direction = np.empty(len(data), dtype=object)
    fit_s = 0.0
    sizes: list[tuple[int, float]] = []  # (tracks fit on, file MB)
    chosen: dict[str, Any] = {}
    prior_parts: list[tuple[np.ndarray, ...]] = []  # (probe probs, z, tracks, truth) of each scored direction
    for name, fit_idx, scored_idx in two_way_directions(data.splits, data.groups):
        started = time.perf_counter()
        y = np.array([str(v) for v in data.labels[fit_idx]])
        if prior:
            fitted = tag_prior.fit(classic.build_pipeline(model, random_state=0, calibrate=False if search else None),
                                   data.X[fit_idx], y, data.groups[fit_idx], data.columns, search=search, seed=0)
            pipe, prior_of, graph = fitted.pipeline, fitted.prior, fitted.export()
            chosen[name] = {**(fitted.search.best_params if fitted.search else {}), "prior_weight": prior_of.weight}
            X_scored = data.X[scored_idx]
            raw, z = pipe.predict_proba(prior_of.probe_input(X_scored)), prior_of.scores(X_scored)  # classes' order
            scored = tag_prior.TagPrior.combine(raw, z, prior_of.weight)
            order = [[str(c) for c in pipe.classes_].index(label) for label in labels]
            prior_parts.append((raw[:, order], z[:, order], np.asarray(data.paths)[scored_idx],
                                np.array([str(v) for v in data.labels[scored_idx]])))
        else:
            if search:
                unfitted = classic.build_pipeline(model, random_state=0, calibrate=False)
                found = classic.search(unfitted, data.X[fit_idx], y, data.groups[fit_idx], seed=0)
                pipe, chosen[name] = found.pipeline, found.best_params
            else:
                pipe = classic.build_pipeline(model, random_state=0)
                classic.fit_pipeline(pipe, data.X[fit_idx], y, data.groups[fit_idx], seed=0)
            scored = pipe.predict_proba(data.X[scored_idx])
            graph = bundle.export_pipeline(pipe, data.X.shape[1]).SerializeToString()
        fit_s += time.perf_counter() - started
        order = [list(pipe.classes_).index(label) for label in labels]
        probs[scored_idx] = scored[:, order]
        direction[scored_idx] = name
        sizes.append((len(set(data.paths[fit_idx].tolist())), len(graph) / 1e6))
        say(f"    {name}: fit {time.perf_counter() - started:.1f} s")
    if prior_parts:  # the weight a shipped model gets, as its temperature: fit on both directions' held-out rows
        by_weight = {f"{w:g}": float(np.mean(tag_prior.track_balanced_accuracy(prior_parts, labels, w)))
                     for w in tag_prior.WEIGHTS}
        weight = tag_prior.best_weight(by_weight)
        rows = [np.concatenate([part[k] for part in prior_parts]) for k in range(4)]
        combined = tag_prior.TagPrior.combine(rows[0], rows[1], weight)
        chosen["all_held_out"] = {"prior_weight": weight, "mean_balanced_accuracy_by_weight": by_weight,
                                  "temperature": round(fit_temperature(combined, rows[2], rows[3], labels), 4)}
    truth = np.array([str(v) for v in data.labels])
    (n1, mb1), (n2, mb2) = sizes
    n_all = len(set(data.paths.tolist()))
    size_mb = mb1 + (mb1 - mb2) * (n_all - n1) / (n1 - n2) if n1 != n2 else max(mb1, mb2)  # linear in the tracks
    return HeldOut(probs, np.asarray(data.paths), truth, direction), round(max(size_mb, mb1, mb2), 3), fit_s, chosen


def model_held_out(model_path: Path, records: list[Any], name: str, jobs: int) -> HeldOut:
    """A model file's window probabilities on ``records`` (the split it was not fit on), as prediction makes them."""
    classifier = load_model(model_path)
    table = compute_features(records, classifier.feature_set, classifier.windowing, jobs=jobs)
    data = table.matrix()
    probs = classifier.bundle.predict_proba(data.X)
    order = [classifier.labels.index(label) for label in sorted(classifier.labels)]
    return HeldOut(probs[:, order], np.asarray(data.paths), np.array([str(v) for v in data.labels]),
                   np.array([name] * len(data), dtype=object))


def cnn_held_out(records: list[Any], cnn_train: Path, work: Path, jobs: int, say: Callable[[str], None]) -> HeldOut:
    """The CNN baseline in both directions: ``cnn_train`` (fit on train) scores valid; a fresh fit on valid scores train."""
    import torch

    from genrekit.trainers import CNNConfig
    from genrekit.training import train

    torch.set_num_threads(1)  # two cores, shared

    card = bundle.read_card(cnn_train)
    if card.training.split != "train" or card.kind != "cnn":
        sys.exit(f"{cnn_train}: not a CNN fit on the train split (kind {card.kind}, split {card.training.split!r})")
    valid = [r for r in records if r.split == "valid"]
    trained = [r for r in records if r.split == "train"]
    say("  CNN train->valid: scoring the valid split with the train-split model")
    forward = model_held_out(cnn_train, valid, "train->valid", jobs)
    backward_file = work / "cnn-valid-to-train.genre"
    if not backward_file.exists():
        say("  CNN valid->train: training on the valid split (early stopping on held-out valid tracks)")
        started = time.perf_counter()
        config = CNNConfig(init="musicnn", fine_tune="head", seed=0)
        train([replace(r, split="train") for r in valid], backward_file, "cnn", config)
        say(f"    trained in {time.perf_counter() - started:.0f} s")
    backward = model_held_out(backward_file, trained, "valid->train", jobs)
    return HeldOut(*(np.concatenate([getattr(forward, k), getattr(backward, k)])
                     for k in ("probs", "tracks", "truth", "direction")))


def side_by_side(tables: list[Any]) -> Any:
    """Feature tables of the same windows (same files, same windowing), their columns side by side."""
    first = tables[0]
    for t in tables[1:]:
        if not (np.array_equal(t.paths, first.paths) and np.allclose(t.starts, first.starts)):
            raise ValueError("the tables do not hold the same windows in the same order")
    return replace(first, X=np.hstack([t.X for t in tables]), columns=[c for t in tables for c in t.columns])


def ensemble_held_out(members: list[HeldOut]) -> HeldOut:
    """Equal-weight ensemble of members' held-out track verdicts (each member aggregates its own windows first)."""
    verdicts = []
    for m in members:
        ids, truth, probs = m.track_probs()
        verdicts.append(dict(zip(ids.tolist(), probs)))
    first = members[0]
    ids, truth, _ = first.track_probs()
    direction = dict(zip(first.tracks.tolist(), first.direction.tolist()))
    probs = np.mean([[v[t] for t in ids.tolist()] for v in verdicts], axis=0)
    return HeldOut(probs, ids, truth, np.array([direction[t] for t in ids.tolist()], dtype=object))


def markdown(result: dict[str, Any]) -> str:
    entries = [TwoWayCandidate.from_json(c) for c in result["candidates"]]
    replaced = result["replaced"]
    try:
        default, accurate = choose_two_way(entries, replaced_ms=replaced["ms_per_clip"],
                                           replaced_song_ms=replaced.get("ms_per_song"))
    except NoEligibleCandidate:
        default = accurate = None
    lines = [
        f"Every candidate fit on the **train** split ({result['n_tracks']['train']} tracks) and scored on **valid** "
        f"({result['n_tracks']['valid']}), then fit on valid and scored on train; per track, window probabilities "
        "averaged; seed 0, default hyper-parameters, class-balanced. \"mean\" is the mean of the two directions' "
        "balanced accuracy, what the rule ranks by. Cost: milliseconds to classify a decoded 30 s clip and a "
        "decoded 3-minute song (`fast` coverage), features and network (the model being replaced: "
        f"{replaced['ms_per_clip']:.0f} and {replaced['ms_per_song']:.0f} ms, measured in the same run). ECE: top-label, 15 bins, pooled over both directions' held-out tracks, before and after temperature "
        "scaling fit on the other direction. T: the temperature fit on both directions' held-out predictions (what "
        "a shipped model gets).",
        "",
        "| configuration | ms / clip | ms / song | file (MB) | train->valid acc / bal | valid->train acc / bal | "
        "**mean bal** | ECE before -> after | T |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c, e in sorted(zip(result["candidates"], entries), key=lambda ce: -ce[1].score):
        tag = " **(default)**" if e is default else (" **(accurate)**" if e is accurate else "")
        d = c["directions"]
        cal = c["calibration"]
        lines.append(
            f"| {e.name}{tag} | {e.ms_per_clip:.0f} | {e.ms_per_song:.0f} | {e.model_mb:.2f} | "
            f"{d['train->valid']['accuracy']:.3f} / {d['train->valid']['balanced_accuracy']:.3f} | "
            f"{d['valid->train']['accuracy']:.3f} / {d['valid->train']['balanced_accuracy']:.3f} | "
            f"**{e.score:.3f}** | {cal['pooled_before']['ece']:.3f} -> {cal['pooled_after_cross_fit']['ece']:.3f} | "
            f"{cal['temperature_all_held_out']:.2f} |")
    if default is None or accurate is None:
        lines += ["", "No candidate meets the default's limits."]
        return "\n".join(lines)
    lines += ["", f"By the rule: default **{default.name}** (mean {default.score:.3f}), accurate **{accurate.name}** "
                  f"(mean {accurate.score:.3f}, {accurate.ms_per_clip / default.ms_per_clip:.1f} x the default's cost).",
              "", f"Machine: {result['machine']}; {result['seconds']:.0f} s for the whole run."]
    if result.get("added_later"):
        lines += ["", "Added later with `--add` (same protocol, same splits; seconds of that run): "
                  + ", ".join(f"`{k}` ({v:.0f} s)" for k, v in result["added_later"].items()) + "."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gtzan", type=Path, default=REPO.parent / "shared" / "gtzan")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "results.md")
    parser.add_argument("--json", type=Path, default=REPO / "docs" / "results-two-way.json")
    parser.add_argument("-j", "--jobs", type=int, default=1)
    parser.add_argument("--replaced", type=Path, default=BUNDLED_MODEL,
                        help="the model the default replaces: its cost per clip is the default's limit")
    parser.add_argument("--cnn-train", type=Path, help="the CNN baseline fit on the train split (a .genre file)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "genrekit-two-way",
                        help="where the CNN's valid->train model is kept between runs")
    parser.add_argument("--only", nargs="+", help="run only these candidate keys (a quick look; writes nothing)")
    parser.add_argument("--add", nargs="+", help="run only these candidate keys and merge them into --json (replacing "
                        "entries of the same key); the page is rewritten from the merged result")
    args = parser.parse_args()
    if not (args.gtzan / "manifest.csv").exists():
        sys.exit(f"GTZAN not found at {args.gtzan}")
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    started = time.perf_counter()
    records = [r for r in load_dataset(args.gtzan) if r.label is not None]
    labels = sorted({str(r.label) for r in records})
    two_way_directions([r.split for r in records], [r.group for r in records])  # the protocol's checks, up front
    replaced_ms, replaced_song_ms = model_costs(args.replaced)
    say(f"{len(records)} clips; the replaced model classifies a 30 s clip in {replaced_ms:.0f} ms, "
        f"a 3-minute song in {replaced_song_ms:.0f} ms")

    held: dict[str, HeldOut] = {}
    candidates: list[dict[str, Any]] = []
    tables: dict[str, Any] = {}
    costs: dict[str, tuple[float, float]] = {}
    sizes: dict[str, float] = {}
    wanted = set(args.only or args.add or ()) or None
    needed = {part for key, _, rep in SINGLES + SEARCHED + PRIOR if wanted is None or key in wanted
              for part in COMBINED.get(rep, (rep,))}
    for rep in [*NETWORKS, *PRESETS]:
        if rep not in needed:
            continue
        set_name, options = representation(rep)
        fs = get_feature_set(set_name, **options)
        t0 = time.perf_counter()
        table = compute_features(records, fs, Windowing(window=WINDOW), jobs=args.jobs)
        tables[rep] = table.matrix()
        costs[rep] = representation_costs(fs, WINDOW)
        say(f"{rep}: features in {time.perf_counter() - t0:.0f} s ({table.computed} computed, {table.cached} cached, "
            f"{table.failed} failed); {costs[rep][0]:.0f} ms per clip, {costs[rep][1]:.0f} ms per song")
    for rep, parts in COMBINED.items():
        if all(p in tables for p in parts):
            tables[rep] = side_by_side([tables[p] for p in parts])
            costs[rep] = (sum(costs[p][0] for p in parts), sum(costs[p][1] for p in parts))
    searched = {key for key, _, _ in SEARCHED + PRIOR}
    with_prior = {key for key, _, _ in PRIOR}
    for key, model, rep in SINGLES + SEARCHED + PRIOR:
        if (wanted is not None and key not in wanted) or rep not in tables:
            continue
        say(f"  {key}")
        held[key], sizes[key], fit_s, params = probe_held_out(model, tables[rep], labels, say, search=key in searched,
                                                              prior=key in with_prior)
        set_name, options = representation(rep)
        recipe = {"kind": model, "feature_set": set_name, "feature_options": options, "window": WINDOW, "seed": 0,
                  **({"search": True, "calibrate": False} if key in searched else {}),
                  **({"tag_prior": True} if key in with_prior else {})}
        candidates.append({"key": key, "recipe": recipe, "ms_per_clip": costs[rep][0], "ms_per_song": costs[rep][1],
                           "model_mb": sizes[key], "fit_seconds": round(fit_s, 1),
                           **({"searched_params": params} if params else {}), **score(held[key], labels)})
        say(f"    mean bal {TwoWayCandidate.from_json(candidates[-1]).score:.3f}")
    if args.cnn_train and (wanted is None or "cnn" in wanted):
        held["cnn"] = cnn_held_out(records, args.cnn_train, args.work, args.jobs, say)
        sizes["cnn"] = args.cnn_train.stat().st_size / 1e6
        cnn_ms, cnn_song_ms = model_costs(args.cnn_train)
        candidates.append({"key": "cnn", "recipe": CNN_RECIPE, "ms_per_clip": cnn_ms, "ms_per_song": cnn_song_ms,
                           "model_mb": sizes["cnn"],
                           **score(held["cnn"], labels)})
        say(f"  cnn: mean bal {TwoWayCandidate.from_json(candidates[-1]).score:.3f}")
    by_key = {c["key"]: c for c in candidates}
    for members in ENSEMBLES:
        if not all(m in held for m in members):
            continue
        ensemble = ensemble_held_out([held[m] for m in members])
        recipes = [by_key[m]["recipe"] for m in members]
        recipe = {"kind": "ensemble", "weighting": "equal", "window": max(r["window"] for r in recipes),
                  "members": recipes}
        candidates.append({"key": "+".join(members), "recipe": recipe,
                           "ms_per_clip": round(sum(by_key[m]["ms_per_clip"] for m in members), 1),
                           "ms_per_song": round(sum(by_key[m]["ms_per_song"] for m in members), 1),
                           "model_mb": round(sum(by_key[m]["model_mb"] for m in members), 3),
                           **score(ensemble, labels)})
        say(f"  {'+'.join(members)}: mean bal {TwoWayCandidate.from_json(candidates[-1]).score:.3f}")
    for c in candidates:
        c["name"] = recipe_name(c["recipe"])
    result = {
        "protocol": "two-way: fit on train, score valid; fit on valid, score train (artist-disjoint); track level",
        "n_tracks": {s: sum(r.split == s for r in records) for s in ("train", "valid")},
        "replaced": {"file": str(args.replaced.name), "ms_per_clip": replaced_ms, "ms_per_song": replaced_song_ms},
        "machine": f"{platform.machine()}, Python {platform.python_version()}, one process",
        "seconds": round(time.perf_counter() - started, 1),
        "candidates": candidates,
    }
    if args.only:
        print(markdown(result))
        return
    if args.add:
        earlier = json.loads(args.json.read_text())
        new = {c["key"] for c in candidates}
        added = {**earlier.get("added_later", {}), **{key: result["seconds"] for key in sorted(new)}}
        result = earlier | {"candidates": [c for c in earlier["candidates"] if c["key"] not in new] + candidates,
                            "added_later": added}
    args.json.write_text(json.dumps(result, indent=1))
    write_section(args.out, SECTION, markdown(result))
    say(f"wrote {args.json} and the {SECTION} section of {args.out}")


if __name__ == "__main__":
    main()
