"""Rewrite CNN model files' musicnn front-end max-first (genrekit.musicnn.max_first), in place.

The CNN models bundled at the time were exported before ``export_onnx``
rewrote musicnn's front-end itself; this brought them to the graph a new
export produces (the bundled models have since become probes on musicnn's
embeddings, which it skips). The
rewrite is checked on random patches (probabilities within 1e-5) before a
file is replaced, and a file already rewritten is left alone. Speed before
and after: ``python benchmarks/engine.py`` (its ``--before`` model).

    python scripts/max_first_bundled.py [MODEL.genre ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUNDLED = sorted((REPO / "src/genrekit/data/models").glob("*.genre"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", type=Path, default=BUNDLED)
    args = parser.parse_args()
    from genrekit.models.bundle import read_card
    from genrekit.models.cnn.export import max_first_file

    for path in args.models:
        card = read_card(path)
        if card.kind != "cnn":
            print(f"{path.name}: a {card.kind} model, no CNN graph to rewrite")
            continue
        if "front_end" in card.model.details:
            print(f"{path.name}: already max-first")
            continue
        out, rewritten = max_first_file(path, path)
        print(f"{path.name}: {rewritten} front-end branches rewritten max-first; {out.stat().st_size} bytes")


if __name__ == "__main__":
    sys.exit(main())
