"""The CNN and ensemble figures of docs/results.md: one JSON record per training run, and the table made from them.

``scripts/train_cnn.py --results docs/results-cnn.json`` and
``scripts/train_ensemble.py --results docs/results-cnn.json`` add (or replace)
their run's record; this script renders the records into docs/results.md
between ``<!-- cnn_results:begin -->`` and ``<!-- cnn_results:end -->``
(:mod:`genrekit.comparison.runs` groups and tables them)::

    python scripts/cnn_results.py render                  # docs/results-cnn.json -> docs/results.md
    python scripts/cnn_results.py add run.json            # records printed by --json, one per line
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from genrekit.comparison.page import write_section
from genrekit.comparison.runs import SECTION, render_table, upsert

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "results-cnn.json"
PAGE = REPO / "docs" / "results.md"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=("render", "add"))
    ap.add_argument("files", nargs="*", type=Path, help="add: files of JSON records, one per line")
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--page", type=Path, default=PAGE)
    args = ap.parse_args()
    if args.action == "add":
        for f in args.files:
            for line in f.read_text().splitlines():
                if line.startswith("{"):
                    upsert(json.loads(line), args.results)
    write_section(args.page, SECTION, render_table(json.loads(args.results.read_text())))


if __name__ == "__main__":
    main()
