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
