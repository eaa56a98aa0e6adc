"""Train the model genrekit ships, from GTZAN, reproducibly: ``make model``.

The candidates are every configuration measured on GTZAN's artist-disjoint
valid split (after training on its train split):

- docs/results-classic.json (``make results``): every classical model x
  feature set x windowing, one row each;
- docs/results-cnn.json (``scripts/train_cnn.py`` / ``scripts/train_ensemble.py``):
  CNNs and ensembles, scored by their **mean** over the seeds run (at least 3;
  ensembles out of fold, CNNs only if their epoch was not chosen on valid).

Eligible are those that classify a decoded 30 s clip within ``--max-ms``
(features for the classical rows, features and network for CNNs and
ensembles), so the bundled model tags a 3-minute song in a few seconds, and
whose file is at most ``--max-model-mb`` (it ships inside the package). The
best eligible one by valid balanced accuracy (then accuracy) is trained, with
seed 0 (a CNN's best seed is not cherry-picked; an ensemble's members are
trained first), and written with the choice recorded in its card under
``selection``.

    python scripts/train_bundled_model.py --gtzan ../shared/gtzan [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from cnn_results import configuration

from genrekit.predict import BUNDLED_MODEL

REPO = Path(__file__).resolve().parents[1]


def candidates(classic: list[dict[str, Any]], cnn: list[dict[str, Any]], min_seeds: int = 3) -> list[dict[str, Any]]:
    """One entry per configuration: ``name``, ``balanced_accuracy``, ``accuracy``, ``ms``, ``mb``, ``recipe``.

    CNN and ensemble configurations run with fewer than ``min_seeds`` seeds are
    left out: their seed-to-seed spread is as large as the gaps between candidates.
    So are CNNs that chose their epoch on the valid split (and ensembles of
    them): their valid figures are optimistic. Ensembles are scored out of
    fold, since their weights are fit on the valid split.
    """
    out = [{"name": f"{r['model']} on {r['feature_set']}, {r['window']} windows", "balanced_accuracy": r["balanced_accuracy"],
            "accuracy": r["accuracy"], "ms": r["extract_ms_per_30s_clip"], "mb": r["model_mb"], "seeds": [0],
            "recipe": {"kind": "classic", "model": r["model"], "feature_set": r["feature_set"],
                       "window": float(r["window"].split()[0])}}
           for r in classic]
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in cnn:
        if r.get("stop_on") == "valid" or "epoch chosen on valid" in r.get("recipe", ""):
            continue  # chose its epoch on the split it would be compared on
        groups.setdefault(configuration(r), []).append(r)
    for name, runs in groups.items():
        if len(runs) < min_seeds:
            continue
        first = runs[0]
        recipe = ({"kind": "cnn", "init": first["init"], "fine_tune": first.get("fine_tune")}
                  if first.get("kind", "cnn") == "cnn"
                  else {"kind": "ensemble", "recipe": first["recipe"], "members": first.get("member_recipes")})
        score = "oof_" if recipe["kind"] == "ensemble" else "valid_"  # an ensemble's weights are fit on valid
        out.append({"name": name, "balanced_accuracy": statistics.mean(r[f"{score}balanced_accuracy"] for r in runs),
                    "accuracy": statistics.mean(r[f"{score}accuracy"] for r in runs),
                    "ms": max(r["ms_per_30s_clip"] for r in runs), "mb": max(r["model_bytes"] for r in runs) / 1e6,
                    "seeds": sorted(int(r["seed"]) for r in runs), "recipe": recipe})
    return out


def choose(entries: list[dict[str, Any]], max_ms: float, max_model_mb: float) -> dict[str, Any]:
    eligible = [e for e in entries if e["ms"] <= max_ms and e["mb"] <= max_model_mb]
    if not eligible:
        sys.exit(f"no configuration classifies a 30 s clip within {max_ms} ms with a file of at most {max_model_mb} MB")
    return max(eligible, key=lambda e: (e["balanced_accuracy"], e["accuracy"]))


def train_choice(best: dict[str, Any], gtzan: Path, out: Path, selection: dict[str, Any] | None,
                 threads: int) -> Any:
    """Train ``best``'s recipe on GTZAN's train split (seed 0) into ``out``; an ensemble's members first, beside it."""
    recipe = best["recipe"]
    extra = {"selection": selection} if selection else None
    if recipe["kind"] == "classic":
        from genrekit.training import train

        return train(gtzan, out, feature_set=recipe["feature_set"], model=recipe["model"], window=recipe["window"],
                     seed=0, card_extra=extra)
    if recipe["kind"] == "cnn":
        import torch

        from genrekit.models.cnn.train import CNNConfig, train_cnn

        torch.set_num_threads(threads)
        config = CNNConfig(init=recipe["init"], arch={"fine_tune": recipe["fine_tune"]} if recipe["fine_tune"] else {})
        return train_cnn(gtzan, out, init=recipe["init"], seed=0, config=config, card_extra=extra)
    if not recipe.get("members"):
        sys.exit(f"{best['name']}: its records do not say how to train its members; rerun scripts/train_ensemble.py")
    from genrekit.training import train

    with tempfile.TemporaryDirectory() as tmp:  # the ensemble file carries its members inside
        members = []
        for i, member in enumerate(recipe["members"]):
            print(f"training member {i}: {member}", file=sys.stderr)
            members.append(Path(tmp) / f"member{i}.genre")
            train_choice({"name": f"member {i}", "recipe": member}, gtzan, members[-1], None, threads)
        return train(gtzan, out, model="ensemble", members=members, window=None, seed=0, card_extra=extra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gtzan", type=Path, default=REPO.parent / "shared" / "gtzan")
    parser.add_argument("--classic", type=Path, default=REPO / "docs" / "results-classic.json")
    parser.add_argument("--cnn", type=Path, default=REPO / "docs" / "results-cnn.json")
    parser.add_argument("--out", type=Path, default=BUNDLED_MODEL)
    parser.add_argument("--max-ms", type=float, default=600.0, help="most milliseconds per decoded 30 s clip")
    parser.add_argument("--max-model-mb", type=float, default=2.0, help="the model ships inside the package")
    parser.add_argument("--threads", type=int, default=2, help="torch threads, for a CNN")
    parser.add_argument("--dry-run", action="store_true", help="print the ranking and the choice, train nothing")
    args = parser.parse_args()

    entries = candidates(json.loads(args.classic.read_text()),
                         json.loads(args.cnn.read_text()) if args.cnn.exists() else [])
    best = choose(entries, args.max_ms, args.max_model_mb)
    for e in sorted(entries, key=lambda e: -e["balanced_accuracy"])[:8]:
        mark = "*" if e is best else " "
        print(f"{mark} {e['balanced_accuracy']:.3f} bal / {e['accuracy']:.3f} acc  {e['ms']:7.0f} ms  {e['mb']:5.2f} MB  "
              f"{e['name']} (seeds {', '.join(map(str, e['seeds']))})", file=sys.stderr)
    if args.dry_run:
        return
    selection = {
        "why": "best balanced accuracy on GTZAN's artist-disjoint valid split (CNNs and ensembles: mean over "
               f"seeds) among the configurations that classify a decoded 30 s clip within {args.max_ms:g} ms and "
               f"whose model file is at most {args.max_model_mb:g} MB (it ships inside the package)",
        "configuration": best["name"],
        "valid_balanced_accuracy": best["balanced_accuracy"],
        "valid_accuracy": best["accuracy"],
        "seeds_compared": best["seeds"],
        "compared_in": "docs/results.md (regenerate: make results; scripts/train_cnn.py; scripts/cnn_results.py)",
        "candidates": len(entries),
        "trained_by": "make model (scripts/train_bundled_model.py), seed 0",
    }
    print(f"training {best['name']}", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = train_choice(best, args.gtzan, args.out, selection, args.threads)
    m = result.validation["metrics"]
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB): valid accuracy {m['accuracy']:.3f}, "
          f"balanced accuracy {m['balanced_accuracy']:.3f}", file=sys.stderr)


if __name__ == "__main__":
    main()
