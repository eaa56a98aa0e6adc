"""Combine model files into an ensemble (weights fit on the valid split) and print what it scores and costs.

Usage::

    python scripts/train_ensemble.py ../shared/gtzan --members src/genrekit/data/models/default.genre \
        cnn-musicnn-seed0.genre --out ensemble-seed0.genre --results docs/results-cnn.json

Prints: valid accuracy and balanced accuracy with the shipped weights (fit on
the whole valid split: optimistic) and out of fold (weights re-fit on the other
artist-grouped folds), the weights, the time to build it, the model file's
size and milliseconds per 30 s clip at inference (decoding excluded; median
of 5). The record's seed is its CNN member's.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def recipe(card: dict) -> dict:
    """How to train this member again (``scripts/train_bundled_model.py`` does, seed 0)."""
    model = card["model"]
    if model.get("kind") == "cnn":
        return {"kind": "cnn", "init": model["init"], "fine_tune": model.get("fine_tune"),
                "stop_on": card["training"].get("early_stopping", {"on": "valid"})["on"]}
    return {"kind": "classic", "model": model.get("kind"), "feature_set": card["feature_set"]["name"],
            "window": card["windowing"]["window"]}


def describe(card: dict) -> str:
    """A member in a few words: ``CNN musicnn`` or ``logreg on default+musicnn``."""
    model = card["model"]
    if model.get("kind") == "cnn":
        on_valid = card["training"].get("early_stopping", {"on": "valid"})["on"] == "valid"
        return f"CNN {model['init']}" + (" with its epoch chosen on valid" if on_valid else "")
    return f"{model.get('kind')} on {card['feature_set']['name']}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path)
    ap.add_argument("--members", type=Path, nargs="+", required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--jobs", "-j", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    ap.add_argument("--results", type=Path, default=None, help="also record the figures in this JSON file")
    args = ap.parse_args()

    from cnn_results import clip_inference_ms, report
    from genrekit.models.bundle import read_card
    from genrekit.training import train

    cards = [read_card(m) for m in args.members]
    started = time.perf_counter()
    result = train(args.source, args.out, model="ensemble", members=list(args.members), window=None, jobs=args.jobs)
    seconds = time.perf_counter() - started
    validation = result.validation or {}
    m, oof = validation.get("metrics", {}), validation.get("out_of_fold", {}).get("metrics", {})
    seeds = [c["model"]["seed"] for c in cards if c["model"].get("kind") == "cnn"]
    figures = {
        "kind": "ensemble", "recipe": " + ".join(describe(c) for c in cards), "seed": seeds[0] if seeds else 0,
        "members": [str(p) for p in args.members], "member_recipes": [recipe(c) for c in cards],
        "weights": [member["weight"] for member in result.card["model"]["members"]],
        "valid_tracks": m.get("n_tracks"), "valid_accuracy": m.get("accuracy"),
        "valid_balanced_accuracy": m.get("balanced_accuracy"), "valid_log_loss": m.get("log_loss"),
        "oof_accuracy": oof.get("accuracy"), "oof_balanced_accuracy": oof.get("balanced_accuracy"),
        "members_valid_balanced_accuracy": {k: v["balanced_accuracy"] for k, v in validation.get("members", {}).items()},
        "train_seconds": round(seconds, 1), "model_bytes": args.out.stat().st_size,
        "ms_per_30s_clip": clip_inference_ms(args.out),
        "note": "training time = fitting the weights (members' valid predictions included), not the members' own training",
    }
    report(figures, args.results, args.json)


if __name__ == "__main__":
    main()
