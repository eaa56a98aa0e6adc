"""Train the model genrekit ships, from GTZAN, reproducibly: ``make model``.

The candidates are every configuration measured on GTZAN's artist-disjoint
valid split (after training on its train split): docs/results-classic.json
(``make results``) and docs/results-cnn.json (``scripts/train_cnn.py`` /
``scripts/train_ensemble.py``). The rule that picks one is
:mod:`genrekit.selection`'s; the winner is trained with seed 0 (a CNN's best
seed is not cherry-picked; an ensemble's members are trained first) and
written with the choice recorded in its card under ``selection``.

    python scripts/train_bundled_model.py --gtzan ../shared/gtzan [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from genrekit.comparison.configuration import train_configuration
from genrekit.predict import BUNDLED_MODEL
from genrekit.selection import MAX_MODEL_MB, MAX_MS, NoEligibleCandidate, candidates, choose, selection_entry

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gtzan", type=Path, default=REPO.parent / "shared" / "gtzan")
    parser.add_argument("--classic", type=Path, default=REPO / "docs" / "results-classic.json")
    parser.add_argument("--cnn", type=Path, default=REPO / "docs" / "results-cnn.json")
    parser.add_argument("--out", type=Path, default=BUNDLED_MODEL)
    parser.add_argument("--max-ms", type=float, default=MAX_MS, help="most milliseconds per decoded 30 s clip")
    parser.add_argument("--max-model-mb", type=float, default=MAX_MODEL_MB, help="the model ships inside the package")
    parser.add_argument("--threads", type=int, default=2, help="torch threads, for a CNN")
    parser.add_argument("--dry-run", action="store_true", help="print the ranking and the choice, train nothing")
    args = parser.parse_args()

    entries = candidates(json.loads(args.classic.read_text()),
                         json.loads(args.cnn.read_text()) if args.cnn.exists() else [])
    try:
        best = choose(entries, args.max_ms, args.max_model_mb)
    except NoEligibleCandidate as error:
        sys.exit(str(error))
    for e in sorted(entries, key=lambda e: -e.balanced_accuracy)[:8]:
        mark = "*" if e is best else " "
        print(f"{mark} {e.balanced_accuracy:.3f} bal / {e.accuracy:.3f} acc  {e.ms_per_clip:7.0f} ms  "
              f"{e.model_mb:5.2f} MB  {e.name} (seeds {', '.join(map(str, e.seeds))})", file=sys.stderr)
    if args.dry_run:
        return
    selection = selection_entry(
        best, len(entries), split="GTZAN's artist-disjoint valid split", max_ms=args.max_ms,
        max_model_mb=args.max_model_mb,
        compared_in="docs/results.md (regenerate: make results; scripts/train_cnn.py; scripts/cnn_results.py)",
        trained_by="make model (scripts/train_bundled_model.py), seed 0",
    )
    if any(c.kind == "cnn" for c in (best.configuration, *best.configuration.members)):
        import torch

        torch.set_num_threads(args.threads)
    print(f"training {best.name}", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = train_configuration(best.configuration, args.gtzan, args.out, seed=0, card_extra={"selection": selection},
                                 log=lambda line: print(line, file=sys.stderr))
    m = result.card.to_json()["validation"]["metrics"]
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB): valid accuracy {m['accuracy']:.3f}, "
          f"balanced accuracy {m['balanced_accuracy']:.3f}", file=sys.stderr)


if __name__ == "__main__":
    main()
