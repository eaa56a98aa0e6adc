"""Write genrekit/data/reference/seed_features.json: the ``seed`` features of the doctor's reference signal.

``genrekit doctor`` recomputes these features and fails when they drift
from the stored values (rtol 1e-4, atol 1e-6). Run this script only when the
``seed`` set's numbers change on purpose (and bump its version then)::

    python scripts/make_reference_features.py            # writes the package's file
    python scripts/make_reference_features.py --check    # compares instead, exit code 1 on a difference
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from genrekit.doctor import REFERENCE_FEATURES, check_reference_features, reference_record


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REFERENCE_FEATURES, help="file to write (default: %(default)s)")
    ap.add_argument("--check", action="store_true", help="compare with the file instead of writing it")
    args = ap.parse_args()
    if args.check:
        check = check_reference_features(args.out)
        print(f"{check.status}: {check.detail}")
        return 0 if check.status == "ok" else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(reference_record(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
