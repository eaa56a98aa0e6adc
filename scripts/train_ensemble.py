"""Combine model files into an ensemble (weights fit on the valid split) and print what it scores and costs.

Usage::

    python scripts/train_ensemble.py ../shared/gtzan --members src/genrekit/data/models/default.genre \
        cnn-musicnn-seed0.genre --out ensemble-seed0.genre --results docs/results-cnn.json

Prints: valid accuracy and balanced accuracy with the shipped weights (fit on
the whole valid split: optimistic) and out of fold (weights re-fit on the other
artist-grouped folds), the weights, the time to build it, the model file's
size and milliseconds per 30 s clip at inference (decoding excluded; median
of 5). The record's seed is its CNN member's; its ``member_recipes`` say how
to train each member again (``scripts/train_bundled_model.py`` does, seed 0).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path)
    ap.add_argument("--members", type=Path, nargs="+", required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--jobs", "-j", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    ap.add_argument("--results", type=Path, default=None, help="also record the figures in this JSON file")
    args = ap.parse_args()

    from genrekit.comparison.configuration import Configuration
    from genrekit.comparison.runs import clip_inference_ms, figures_text, upsert
    from genrekit.models.bundle import read_card
    from genrekit.trainers import EnsembleConfig
    from genrekit.training import train

    cards = [read_card(m).to_json() for m in args.members]
    ensemble = Configuration("ensemble", members=tuple(Configuration.from_card(c) for c in cards))
    started = time.perf_counter()
    config = EnsembleConfig(members=tuple(map(str, args.members)))
    result = train(args.source, args.out, "ensemble", config, jobs=args.jobs)
    seconds = time.perf_counter() - started
    card = result.card.to_json()
    validation = card["validation"]
    m, oof = validation.get("metrics", {}), validation.get("out_of_fold", {}).get("metrics", {})
    seeds = [c["model"]["seed"] for c in cards if c["model"].get("kind") == "cnn"]
    figures = {
        **ensemble.to_recipe(), "seed": seeds[0] if seeds else 0, "members": [str(p) for p in args.members],
        "weights": [member["weight"] for member in card["model"]["members"]],
        "valid_tracks": m.get("n_tracks"), "valid_accuracy": m.get("accuracy"),
        "valid_balanced_accuracy": m.get("balanced_accuracy"), "valid_log_loss": m.get("log_loss"),
        "oof_accuracy": oof.get("accuracy"), "oof_balanced_accuracy": oof.get("balanced_accuracy"),
        "members_valid_balanced_accuracy": {k: v["balanced_accuracy"] for k, v in validation.get("members", {}).items()},
        "train_seconds": round(seconds, 1), "model_bytes": args.out.stat().st_size,
        "ms_per_30s_clip": clip_inference_ms(args.out),
        "note": "training time = fitting the weights (members' valid predictions included), not the members' own training",
    }
    if args.results is not None:
        upsert(figures, args.results)
    print(json.dumps(figures) if args.json else figures_text(figures))


if __name__ == "__main__":
    main()
