"""Choose the model genrekit ships, by the rule docs/results.md documents, from structured run records.

The candidates are configurations measured on a collection's valid split
after training on its train split: the rows of the classical comparison
(:mod:`genrekit.comparison.classic`, one seed each) and the CNN and ensemble
run records (:mod:`genrekit.comparison.runs`). The rule:

- a CNN or ensemble is scored by its **mean** over at least ``MIN_SEEDS``
  seeds: one seed's luck is as large as the gaps between candidates;
- an ensemble by its **out-of-fold** score: its weights were fit on the
  valid split, so its plain valid score is optimistic;
- runs whose epoch was chosen on the valid split (``stop_on: valid``, theirs
  or a member's) are left out, for the same reason, and so are ensembles
  whose records do not say how to train their members;
- eligible are those that classify a decoded 30 s clip within ``max_ms``
  and whose file is at most ``max_model_mb`` (it ships inside the package);
- the best eligible by balanced accuracy wins, ties going to accuracy.

Only the records' fields decide; names are derived from them for display.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from genrekit.comparison.configuration import Configuration
from genrekit.errors import GenrekitError

MIN_SEEDS = 3
MAX_MS = 600.0
"""Default limit, milliseconds per decoded 30 s clip: the bundled model tags a 3-minute song in a few seconds."""
MAX_MODEL_MB = 2.0
"""Default limit on the model file: it ships inside the package."""


class NoEligibleCandidate(GenrekitError):
    """No candidate meets the limits on time and size."""


@dataclass(frozen=True)
class Candidate:
    """One configuration's valid-split figures: scores (mean over ``seeds``), worst time and size over them."""

    configuration: Configuration
    balanced_accuracy: float
    accuracy: float
    ms_per_clip: float
    model_mb: float
    seeds: tuple[int, ...]
    out_of_fold: bool = False

    @property
    def epoch_chosen_on_valid(self) -> bool:
        return self.configuration.epoch_chosen_on_valid

    @property
    def name(self) -> str:
        return self.configuration.name


def classic_candidate(row: Mapping[str, Any]) -> Candidate:
    """A row of the classical comparison (seed 0; its time is the feature extraction)."""
    return Candidate(Configuration.from_row(row), row["balanced_accuracy"], row["accuracy"],
                     row["extract_ms_per_30s_clip"], row["model_mb"], seeds=(0,))


def run_candidate(record: Mapping[str, Any]) -> Candidate:
    """One CNN or ensemble run; an ensemble's out-of-fold score when it has one."""
    configuration = Configuration.from_record(record)
    out_of_fold = configuration.kind == "ensemble" and record.get("oof_balanced_accuracy") is not None
    score = "oof_" if out_of_fold else "valid_"
    return Candidate(configuration, record[f"{score}balanced_accuracy"], record[f"{score}accuracy"],
                     record["ms_per_30s_clip"], record["model_bytes"] / 1e6, seeds=(int(record["seed"]),),
                     out_of_fold=out_of_fold)


def pool(runs: Iterable[Candidate]) -> list[Candidate]:
    """One candidate per configuration: mean scores, the slowest time and largest file, every seed."""
    groups: dict[Configuration, list[Candidate]] = {}
    for run in runs:
        groups.setdefault(run.configuration, []).append(run)
    return [Candidate(configuration, statistics.mean(r.balanced_accuracy for r in group),
                      statistics.mean(r.accuracy for r in group), max(r.ms_per_clip for r in group),
                      max(r.model_mb for r in group), tuple(sorted(s for r in group for s in r.seeds)),
                      out_of_fold=all(r.out_of_fold for r in group))
            for configuration, group in groups.items()]


def left_out_because(run: Candidate) -> str | None:
    """Why a CNN or ensemble run cannot be compared on the valid split, or ``None`` if it can."""
    if run.epoch_chosen_on_valid:
        return "its epoch was chosen on the valid split"
    if run.configuration.kind == "ensemble" and not run.configuration.members:
        return "its record does not say how to train its members"
    if run.configuration.kind == "ensemble" and not run.out_of_fold:
        return "no out-of-fold score: its valid score is the one its weights were fit on"
    return None


def candidates(classic_rows: Iterable[Mapping[str, Any]], run_records: Iterable[Mapping[str, Any]],
               min_seeds: int = MIN_SEEDS) -> list[Candidate]:
    """Every comparable configuration: the classical rows, then CNNs and ensembles pooled over their seeds."""
    runs = [run_candidate(r) for r in run_records]
    pooled = pool(r for r in runs if left_out_because(r) is None)
    return [classic_candidate(r) for r in classic_rows] + [c for c in pooled if len(c.seeds) >= min_seeds]


def choose(entries: Sequence[Candidate], max_ms: float = MAX_MS, max_model_mb: float = MAX_MODEL_MB) -> Candidate:
    """The best candidate within the limits by balanced accuracy, then accuracy."""
    eligible = [e for e in entries if e.ms_per_clip <= max_ms and e.model_mb <= max_model_mb]
    if not eligible:
        raise NoEligibleCandidate(f"no configuration classifies a 30 s clip within {max_ms:g} ms with a file of "
                                  f"at most {max_model_mb:g} MB")
    return max(eligible, key=lambda e: (e.balanced_accuracy, e.accuracy))


def selection_entry(best: Candidate, n_candidates: int, *, split: str, max_ms: float, max_model_mb: float,
                    min_seeds: int = MIN_SEEDS, **provenance: Any) -> dict[str, Any]:
    """The ``selection`` entry of the chosen model's card: the rule, the choice and its figures.

    ``split`` names the split compared on; ``provenance`` adds keys such as
    ``compared_in`` and ``trained_by``.
    """
    return {
        "why": f"best balanced accuracy on {split} (CNNs and ensembles: mean over at least {min_seeds} seeds; "
               "ensembles out of fold; no epoch chosen on it) among the configurations that classify a decoded "
               f"30 s clip within {max_ms:g} ms and whose model file is at most {max_model_mb:g} MB "
               "(it ships inside the package)",
        "configuration": best.name,
        "recipe": best.configuration.to_recipe(),
        "valid_balanced_accuracy": best.balanced_accuracy,
        "valid_accuracy": best.accuracy,
        "scored_out_of_fold": best.out_of_fold,
        "seeds_compared": list(best.seeds),
        "candidates": n_candidates,
        **provenance,
    }


# ----------------------------------------------------------------------------- the two-way rule
#
# The rule below was written into docs/results.md ("Two-way yardstick") before the comparison ran:
#
# - score: the mean over both directions (train -> valid, valid -> train) of track-level balanced accuracy;
# - cost: milliseconds to classify a decoded 30 s clip, and a decoded 3-minute recording with the default
#   coverage (a ``fast`` verdict, at most 12 windows): a model on 30 s windows costs what a 3 s model costs on a
#   clip but several times more on a song;
# - the default: eligible if both its costs are within DEFAULT_COST_MARGIN times those of the model it replaces
#   (measured in the same run) and its file is at most MAX_MODEL_MB;
# - the accurate model: eligible if both its costs are at most ACCURATE_COST_RATIO times the chosen default's,
#   file within MAX_MODEL_MB;
# - the best score wins; scores within TIE of the best count as a tie, and ties go to the cheaper per clip.

DEFAULT_COST_MARGIN = 1.05
"""The default may not be slower per clip than the model it replaces; 5 % is the spread of repeated timings here."""
ACCURATE_COST_RATIO = 4.0
TIE = 0.005
"""Mean balanced accuracies closer than this are a tie (one track in a rare valid genre moves it by ~0.025)."""


def recipe_name(recipe: Mapping[str, Any]) -> str:
    """For tables: ``logreg on musicnn (MTT_musicnn), 30 s windows``, ``ensemble (A + B)``, ``CNN, --init musicnn``."""
    kind = recipe["kind"]
    if kind == "ensemble":
        return "ensemble (" + " + ".join(recipe_name(m).split(",")[0] for m in recipe["members"]) + ", equal weights)"
    if kind == "cnn":
        head = ", new head on frozen musicnn" if recipe.get("fine_tune") == "head" else ""
        return f"CNN, --init {recipe['init']}{head}"
    options = recipe.get("feature_options") or {}
    networks = [m.get("model") for m in options.get("members", [])] if "members" in options else [options.get("model")]
    shown = f" ({' + '.join(n for n in networks if n)})" if any(networks) else ""
    window = recipe.get("window")
    windows = "whole files" if window is None else f"{window:g} s windows"
    layers = options.get("layers")
    extra = ([f"{'+'.join(layers)} only"] if layers is not None and list(layers) != ["penultimate", "taggram"] else [])
    extra += ["tuned by grouped CV"] if recipe.get("search") else []
    extra += ["no sigmoid calibrators"] if recipe.get("calibrate") is False else []
    extra += ["musicnn's genre tags as a prior"] if recipe.get("tag_prior") else []
    return f"{kind} on {recipe['feature_set']}{shown}, {windows}" + "".join(f", {e}" for e in extra)


@dataclass(frozen=True)
class TwoWayCandidate:
    """One configuration's figures in both directions, its costs (a 30 s clip, a 3-minute song) and its file size."""

    recipe: Mapping[str, Any]
    directions: Mapping[str, Mapping[str, Any]]
    ms_per_clip: float
    model_mb: float
    ms_per_song: float | None = None

    @property
    def name(self) -> str:
        return recipe_name(self.recipe)

    @property
    def score(self) -> float:
        """The mean over the directions of track-level balanced accuracy: what the rule ranks by."""
        return statistics.mean(d["balanced_accuracy"] for d in self.directions.values())

    @property
    def mean_accuracy(self) -> float:
        return statistics.mean(d["accuracy"] for d in self.directions.values())

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> TwoWayCandidate:
        song = entry.get("ms_per_song")
        return cls(entry["recipe"], entry["directions"], float(entry["ms_per_clip"]), float(entry["model_mb"]),
                   None if song is None else float(song))

    def within(self, ratio: float, clip_ms: float, song_ms: float | None) -> bool:
        """Whether both costs are at most ``ratio`` times ``clip_ms`` and ``song_ms`` (a cost not measured passes)."""
        if self.ms_per_clip > ratio * clip_ms:
            return False
        return song_ms is None or self.ms_per_song is None or self.ms_per_song <= ratio * song_ms


def best_by_rule(entries: Sequence[TwoWayCandidate], tie: float = TIE) -> TwoWayCandidate:
    """The best score; candidates within ``tie`` of it are tied, and the cheapest per clip of those wins."""
    if not entries:
        raise NoEligibleCandidate("no candidate is within the limits")
    top = max(e.score for e in entries)
    tied = [e for e in entries if e.score >= top - tie]
    return min(tied, key=lambda e: (e.ms_per_clip, -e.score, -e.mean_accuracy))


def choose_two_way(entries: Sequence[TwoWayCandidate], *, replaced_ms: float, replaced_song_ms: float | None = None,
                   default_margin: float = DEFAULT_COST_MARGIN, accurate_ratio: float = ACCURATE_COST_RATIO,
                   max_model_mb: float = MAX_MODEL_MB, tie: float = TIE) -> tuple[TwoWayCandidate, TwoWayCandidate]:
    """``(default, accurate)`` by the two-way rule; ``replaced_ms``/``replaced_song_ms``: the current default's costs."""
    small = [e for e in entries if e.model_mb <= max_model_mb]
    fast = [e for e in small if e.within(default_margin, replaced_ms, replaced_song_ms)]
    if not fast:
        raise NoEligibleCandidate(f"no configuration classifies a 30 s clip within {default_margin:g} x "
                                  f"{replaced_ms:.0f} ms (and a 3-minute song within {default_margin:g} x its time) "
                                  f"with a file of at most {max_model_mb:g} MB")
    default = best_by_rule(fast, tie)
    accurate = best_by_rule([e for e in small if e.within(accurate_ratio, default.ms_per_clip, default.ms_per_song)],
                            tie)
    return default, accurate


def two_way_selection_entry(chosen: TwoWayCandidate, role: str, n_candidates: int, *, replaced_ms: float,
                            n_fit_clips: int, **provenance: Any) -> dict[str, Any]:
    """The ``selection`` entry of a bundled model's card: the rule, and the figures named for what they are."""
    return {
        "role": role,
        "why": ("best mean over both directions (train->valid, valid->train; artist-disjoint, every labelled clip "
                "scored once) of track-level balanced accuracy; ties within "
                f"{TIE:g} to the cheaper; default: at most {DEFAULT_COST_MARGIN:g} x the replaced model's cost "
                f"({replaced_ms:.0f} ms per decoded 30 s clip; also per 3-minute song, fast coverage); accurate: "
                f"at most {ACCURATE_COST_RATIO:g} x the default's; files at most {MAX_MODEL_MB:g} MB"),
        "configuration": chosen.name,
        "recipe": dict(chosen.recipe),
        "selection_figures": {
            name: {"measured_on": f"fit on the {name.split('->')[0]} split, scored on the {name.split('->')[1]} "
                                  "split (GTZAN fault-filtered, artist-disjoint)", **dict(figures)}
            for name, figures in chosen.directions.items()},
        "mean_balanced_accuracy_both_directions": chosen.score,
        "mean_accuracy_both_directions": chosen.mean_accuracy,
        "ms_per_30s_clip_when_compared": chosen.ms_per_clip,
        "ms_per_3min_song_when_compared": chosen.ms_per_song,
        "candidates": n_candidates,
        "final_fit": f"refit on all {n_fit_clips} labelled clips (train + valid) after the choice: the figures above "
                     "are those of the same configuration fit on one split. No clip was kept for scoring; a model "
                     "that stops early (a CNN) learned from most of them and used the rest, by track, only to "
                     "choose its epoch (see training.early_stopping)",
        **provenance,
    }
