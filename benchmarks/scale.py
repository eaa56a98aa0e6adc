"""genrekit on Dask against the same work on ``-j`` worker processes, from one run.

- ``genrekit predict DIR --json -q`` with ``-j N`` and with ``--dask local:N``
  for N in ``--workers`` (default 1 2 4), whole process timed (cluster start-up
  included): files per second and the Dask/-j time ratio;
- scheduler overhead per file: ``map_on_dask`` against ``map_in_workers``
  over ``--items`` trivial items on 2 workers (ms per item, start-up excluded);
- peak RSS of each Dask worker after classifying the files (MB).

The files are the shared GTZAN clips (``--gtzan``, default ../shared/gtzan)
where present, else ``--synthetic`` 30-second WAVs made here. ``--limit K``
takes the first K files.

    python benchmarks/scale.py [--workers 1 2 4] [--limit 265] [--items 2000] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hostile_memory import measured  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def gtzan_files(root: Path) -> list[Path]:
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        return []
    import csv

    with manifest.open(newline="") as f:
        return [root / row["path"] for row in csv.DictReader(f)]


def synthetic_files(folder: Path, count: int) -> list[Path]:
    rng = np.random.default_rng(0)
    files = []
    for i in range(count):
        t = np.arange(30 * 22050) / 22050
        y = 0.3 * np.sin(2 * np.pi * (110 + 20 * i) * t) + 0.05 * rng.standard_normal(t.size)
        path = folder / f"clip{i:03d}.wav"
        sf.write(path, y.astype(np.float32), 22050)
        files.append(path)
    return files


def linked(files: list[Path], folder: Path) -> Path:
    """One folder holding (links to) the files, so a single PATH argument names them all."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(files):
        (folder / f"{i:04d}-{f.name}").symlink_to(f.resolve())
    return folder


def predict_runs(folder: Path, n_files: int, workers: list[int]) -> dict[str, object]:
    out: dict[str, object] = {}
    for n in workers:
        local = measured(["predict", folder, "--json", "-q", "-j", n])
        dask = measured(["predict", folder, "--json", "-q", "--dask", f"local:{n}"])
        out[f"{n} worker(s)"] = {
            "-j files/s": round(n_files / local["seconds"], 2),
            "--dask files/s": round(n_files / dask["seconds"], 2),
            "-j s": local["seconds"],
            "--dask s": dask["seconds"],
            "dask/-j time": round(dask["seconds"] / local["seconds"], 2),
            "exit codes": [local["exit"], dask["exit"]],
        }
    return out


def _noop(item: int) -> int:
    return item


def _crash(item: int) -> int:
    return -1


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def overhead_and_memory(files: list[Path], items: int) -> dict[str, object]:
    from genrekit.batch import classify_files
    from genrekit.distributed import connect, map_on_dask
    from genrekit.processes import map_in_workers

    out: dict[str, object] = {}
    with connect("local:2") as client:
        list(map_on_dask(_noop, range(8), client, on_crash=_crash))  # workers warm
        started = time.perf_counter()
        list(map_on_dask(_noop, range(items), client, on_crash=_crash))
        dask_s = time.perf_counter() - started
        results = list(classify_files(files, None, client=client))
        rss = client.run(_peak_rss_mb)
    started = time.perf_counter()
    list(map_in_workers(_noop, range(items), 2, on_crash=_crash))
    local_s = time.perf_counter() - started  # includes starting 2 spawned workers
    out["ms per item, map_on_dask (2 workers)"] = round(1000 * dask_s / items, 3)
    out["ms per item, map_in_workers (2 processes, start-up included)"] = round(1000 * local_s / items, 3)
    out["peak RSS per Dask worker, MB"] = sorted(rss.values())
    out["files classified"] = sum(1 for _, r in results if hasattr(r, "genre"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--gtzan", type=Path, default=REPO.parent / "shared" / "gtzan")
    parser.add_argument("--synthetic", type=int, default=40, help="30-s WAVs to make where GTZAN is absent")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        files = gtzan_files(args.gtzan)
        source = f"GTZAN clips from {args.gtzan}"
        if not files:
            files = synthetic_files(Path(tmp), args.synthetic)
            source = f"{len(files)} synthetic 30-s WAVs"
        files = files[: args.limit] if args.limit else files
        folder = linked(files, Path(tmp) / "all")
        report = {
            "files": f"{len(files)} ({source})",
            "predict": predict_runs(folder, len(files), args.workers),
            "scheduler": overhead_and_memory(files[: min(len(files), 40)], args.items),
        }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"files: {report['files']}")
    for name, row in report["predict"].items():
        print(f"  {name:12s} " + "  ".join(f"{k} {v}" for k, v in row.items()))
    for key, value in report["scheduler"].items():
        print(f"  {key}: {value}")


if __name__ == "__main__":
    main()
