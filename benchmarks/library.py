"""Library scan speed: a 200-file synthetic library, first scan and rescan, -j 1 and -j 2, peak memory.

Each scan runs the real CLI (``genrekit scan``) in a subprocess; its peak
resident memory is the child's ``ru_maxrss`` from ``os.wait4``. The baseline
beside each figure is the first scan with ``-j 1``.

    .venv/bin/python benchmarks/library.py [--files 200] [--seconds 5] [--model M]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "library"))

from libsynth import m4a_supported, make_library  # noqa: E402


def run_scan(library: Path, db: Path, jobs: int, model: str | None) -> tuple[float, float]:
    """``(seconds, peak MiB)`` of one ``genrekit scan`` subprocess."""
    args = [sys.executable, "-c", "from genrekit.cli import main; main()", "scan", str(library), "--db", str(db),
            "-j", str(jobs), "-q"] + (["-m", model] if model else [])
    start = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"scan failed with status {status}")
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--model", default=None, help="a .genre file (default: the bundled model)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        make_library(root / "music", args.files, m4a=10 if m4a_supported() else 0, broken=3, seconds=args.seconds)
        rows = []
        for jobs in (1, 2):
            db = root / f"j{jobs}.sqlite"
            rows.append((f"first scan -j {jobs}", *run_scan(root / "music", db, jobs, args.model)))
            rows.append((f"rescan -j {jobs}", *run_scan(root / "music", db, jobs, args.model)))
        base = rows[0][1]
        print(f"{args.files} files of {args.seconds:g} s (3 broken), model: {args.model or 'bundled'}, "
              f"{os.cpu_count()} CPUs")
        print(f"{'run':<16} {'seconds':>8} {'files/s':>8} {'vs first -j 1':>14} {'peak MiB':>9}")
        for name, seconds, peak in rows:
            print(f"{name:<16} {seconds:8.2f} {args.files / seconds:8.1f} {base / seconds:13.2f}x {peak:9.0f}")


if __name__ == "__main__":
    main()
