"""Train a spectrogram CNN on a labelled collection and print what it costs and what it scores.

Usage::

    python scripts/train_cnn.py ../shared/gtzan --init scratch --seed 0 [--epochs 40] [--out cnn.genre]
    python scripts/train_cnn.py ../shared/gtzan --init musicnn --seed 0 --threads 2 --results docs/results-cnn.json
    # smoke run: a few tracks per label, few steps
    python scripts/train_cnn.py ../shared/gtzan --init scratch --epochs 2 --max-steps 5 --per-label 3

Prints: valid accuracy and balanced accuracy (track level, mean of the 3 s windows),
training time, model file size, parameters, and milliseconds per 30 s clip at
inference (onnxruntime, decoding excluded; median of 5). Uses one torch thread
(``--threads``) so it can share the machine. ``--results docs/results-cnn.json``
records the run for docs/results.md (``scripts/cnn_results.py``).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path


def main() -> None:
    from genrekit.models.cnn import FINE_TUNE_LEVELS

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path)
    ap.add_argument("--init", choices=("scratch", "musicnn"), default="scratch")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--max-steps", type=int, default=None, help="cap on steps per epoch (smoke runs)")
    ap.add_argument("--per-label", type=int, default=None, help="use only this many train and valid tracks per label")
    ap.add_argument("--hop", type=float, default=None, help="prediction hop in seconds (default: the 3 s patch)")
    ap.add_argument("--fine-tune", choices=FINE_TUNE_LEVELS, default=None,
                    help="musicnn: how deep training reaches (default head; below all, the front-end is frozen and cached)")
    ap.add_argument("--stop-on", choices=("train", "valid"), default="train",
                    help="early stopping on a fifth of the train tracks (default) or on the valid split (optimistic)")
    ap.add_argument("--cache-stride", type=float, default=1.0, help="seconds between cached front-end patches")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    ap.add_argument("--results", type=Path, default=None,
                    help="also record the figures in this JSON file (docs/results-cnn.json; "
                         "then python scripts/cnn_results.py render)")
    args = ap.parse_args()

    import torch

    from genrekit.comparison.runs import clip_inference_ms, figures_text, upsert
    from genrekit.datasets import load_dataset
    from genrekit.trainers import CNNConfig
    from genrekit.training import train

    torch.set_num_threads(args.threads)
    records = [r for r in load_dataset(args.source) if r.label is not None]
    if args.per_label:
        kept: dict[tuple[str, str], int] = defaultdict(int)
        chosen = []
        for r in records:
            if kept[(str(r.split), str(r.label))] < args.per_label:
                kept[(str(r.split), str(r.label))] += 1
                chosen.append(r)
        records = chosen
    out = args.out or Path(f"cnn-{args.init}-seed{args.seed}.genre")
    config = CNNConfig(init=args.init, epochs=args.epochs, max_steps=args.max_steps, cache_stride=args.cache_stride,
                       stop_on=args.stop_on, fine_tune=args.fine_tune, hop=args.hop, seed=args.seed)

    last = {"t": time.perf_counter()}

    def progress(p) -> None:
        if p.phase == "held_out":
            m = p.metrics or {}
            print(f"epoch {p.epoch}: loss {p.loss:.3f}  held-out acc {m['accuracy']:.3f}  bal acc "
                  f"{m['balanced_accuracy']:.3f}  ({time.perf_counter() - last['t']:.0f} s)", flush=True)
            last["t"] = time.perf_counter()
        elif p.phase == "cache" and p.step == p.steps:
            print(f"front-end cached: {p.steps} patches ({time.perf_counter() - last['t']:.0f} s)", flush=True)
            last["t"] = time.perf_counter()

    started = time.perf_counter()
    result = train(records, out, "cnn", config, progress=progress)
    train_s = time.perf_counter() - started

    card = result.card.to_json()
    m = card["validation"].get("metrics", {})
    figures = {
        "kind": "cnn", "init": args.init, "fine_tune": card["model"].get("fine_tune"), "seed": args.seed,
        "stop_on": args.stop_on, "stop_tracks": card["training"]["early_stopping"]["n_tracks"],
        "train_tracks": card["training"]["n_tracks"], "valid_tracks": m.get("n_tracks"),
        "valid_accuracy": m.get("accuracy"), "valid_balanced_accuracy": m.get("balanced_accuracy"),
        "valid_log_loss": m.get("log_loss"), "best_epoch": card["model"]["best_epoch"],
        "epochs_run": card["model"]["epochs_run"], "train_seconds": round(train_s, 1),
        "model_bytes": out.stat().st_size, "parameters": card["model"]["parameters"],
        "ms_per_30s_clip": clip_inference_ms(out), "torch_threads": args.threads,
    }
    if args.results is not None:
        upsert(figures, args.results)
    print(json.dumps(figures) if args.json else figures_text(figures))


if __name__ == "__main__":
    main()
