"""Compare classifiers x feature sets x windowings on GTZAN's artist-disjoint valid split.

Every model is trained on the fault-filtered *train* split and scored on the
*valid* split, per track (:mod:`genrekit.comparison.classic` does the work).
Writes the table to docs/results.md (between markers, so the rest of the
page is kept) and all figures to a JSON file.

    python scripts/compare_models.py --gtzan ../shared/gtzan -j 2

Features come from genrekit's feature cache, so a rerun only refits models.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from genrekit.comparison.classic import FEATURE_SETS, SECTION, WINDOWS, compare, default_models, markdown
from genrekit.comparison.configuration import window_label, window_seconds
from genrekit.comparison.page import write_section

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gtzan", type=Path, default=REPO.parent / "shared" / "gtzan")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "results.md")
    parser.add_argument("--json", type=Path, default=REPO / "docs" / "results-classic.json")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--sets", nargs="+", default=list(FEATURE_SETS))
    parser.add_argument("--models", nargs="+", default=list(default_models()))
    parser.add_argument("--windows", nargs="+", default=[window_label(w) for w in WINDOWS],
                        help="window lengths as '30 s' (or 30)")
    args = parser.parse_args()
    if not (args.gtzan / "manifest.csv").exists():
        sys.exit(f"GTZAN not found at {args.gtzan}")
    comparison = compare(args.gtzan, sets=args.sets, models=args.models,
                         windows=[window_seconds(w) for w in args.windows], jobs=args.jobs,
                         log=lambda line: print(line, file=sys.stderr))
    args.json.write_text(json.dumps(comparison.rows, indent=1))
    write_section(args.out, SECTION, markdown(comparison))
    print(f"wrote {args.out} and {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
