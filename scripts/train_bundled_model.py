"""Train the model genrekit ships, from GTZAN, reproducibly: ``make model``.

The configuration is the best row of docs/results-classic.json (written by
``make results``: every model x feature set x windowing, trained on GTZAN's
train split and scored on its artist-disjoint valid split) among those whose
features cost at most ``--max-extract-ms`` per 30 s clip (so the bundled model
classifies a 3-minute song in a few seconds) and whose classifier is at most
``--max-model-mb`` (it ships inside the package). The card records the choice
and where it came from.

    python scripts/train_bundled_model.py --gtzan ../shared/gtzan
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from genrekit.predict import BUNDLED_MODEL
from genrekit.training import train

REPO = Path(__file__).resolve().parents[1]


def choose(results: list[dict], max_extract_ms: float, max_model_mb: float) -> dict:
    eligible = [r for r in results if r["extract_ms_per_30s_clip"] <= max_extract_ms and r["model_mb"] <= max_model_mb]
    if not eligible:
        sys.exit(f"no configuration extracts within {max_extract_ms} ms per 30 s clip in a model of {max_model_mb} MB")
    return max(eligible, key=lambda r: (r["balanced_accuracy"], r["accuracy"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gtzan", type=Path, default=REPO.parent / "shared" / "gtzan")
    parser.add_argument("--results", type=Path, default=REPO / "docs" / "results-classic.json")
    parser.add_argument("--out", type=Path, default=BUNDLED_MODEL)
    parser.add_argument("--max-extract-ms", type=float, default=600.0)
    parser.add_argument("--max-model-mb", type=float, default=2.0, help="the model ships inside the package")
    args = parser.parse_args()

    results = json.loads(args.results.read_text())
    best = choose(results, args.max_extract_ms, args.max_model_mb)
    window = float(best["window"].split()[0])
    print(f"training {best['model']} on {best['feature_set']} with {window:g} s windows "
          f"(valid balanced accuracy {best['balanced_accuracy']:.3f} in {args.results.name})", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = train(
        args.gtzan, args.out, feature_set=best["feature_set"], model=best["model"], window=window, seed=0,
        card_extra={
            "selection": {
                "why": "best balanced accuracy on GTZAN's artist-disjoint valid split among the configurations "
                f"that extract features within {args.max_extract_ms:g} ms per 30 s clip and whose ONNX "
                f"classifier is at most {args.max_model_mb:g} MB (it ships inside the package)",
                "valid_balanced_accuracy": best["balanced_accuracy"],
                "valid_accuracy": best["accuracy"],
                "compared_in": "docs/results.md (regenerate: make results)",
                "candidates": len(results),
                "trained_by": "make model (scripts/train_bundled_model.py)",
            }
        },
    )
    m = result.validation["metrics"]
    print(f"wrote {result.path} ({result.path.stat().st_size / 1e6:.2f} MB): valid accuracy {m['accuracy']:.3f}, "
          f"balanced accuracy {m['balanced_accuracy']:.3f}", file=sys.stderr)


if __name__ == "__main__":
    main()
