"""How fast each feature set computes, against the naive librosa computation of the same columns.

For each set (``seed``, ``gtzan57`` without and with HPSS, ``default``) and
each of N 30 s clips (GTZAN clips from ../shared/gtzan, else the example
recordings cut to 30 s), times genrekit's ``extract`` and the "naive"
librosa computation of the same columns (the test suite's oracle,
tests/features/librosa_oracle.py: each librosa feature function called
separately on ``y`` with its defaults, pooled with numpy), in one
process with one thread (BLAS/OpenMP threads 1, scipy.fft workers 1). Each
timing is the least CPU time of ``--repeat`` runs (one run for anything over
half a second); the table shows the mean over clips and the speed-up
(naive / genrekit), plus the share of columns that agree with the naive
values (within the tolerance the tests use, tests/features/columns.py).

A second measurement starts fresh processes with an empty numba cache and
times importing ``genrekit.features`` and the first ``extract`` of seed and
default: no numba compilation may hide there.

    python benchmarks/features.py [--files 10] [--repeat 3] [--sets seed,default] [--json]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from types import ModuleType
from typing import Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
GTZAN = REPO.parent / "shared" / "gtzan"
SR = 22050
CLIP_SECONDS = 30.0


def _test_helper(name: str) -> ModuleType:
    """A module of tests/features (the tests import it by name; pytest puts that folder on their path)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "tests" / "features" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


oracle = _test_helper("librosa_oracle")  # the naive computation the tests check genrekit against
columns = _test_helper("columns")  # and the tolerance they check it to

SETS: dict[str, tuple[str, dict, Callable[[np.ndarray], dict[str, float]]]] = {
    "seed": ("seed", {}, lambda y: oracle.seed(y, SR)),
    "gtzan57 (no HPSS)": ("gtzan57", {"hpss": False}, lambda y: oracle.gtzan57(y, SR, hpss=False)),
    "gtzan57": ("gtzan57", {"hpss": True}, lambda y: oracle.gtzan57(y, SR)),
    "default": ("default", {}, lambda y: oracle.default(y, SR)),
}


def gtzan_round_robin(n: int) -> list[str]:
    """The first ``n`` GTZAN manifest paths taken round-robin over the genres (every genre early)."""
    import csv

    with open(GTZAN / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    by_genre: dict[str, list[str]] = {}
    for r in rows:
        by_genre.setdefault(r["genre"], []).append(r["path"])
    longest = max(map(len, by_genre.values()))
    return [paths[i] for i in range(longest) for paths in by_genre.values() if i < len(paths)][:n]


def clips(n: int) -> tuple[str, list[tuple[str, np.ndarray]]]:
    """``n`` 30 s signals: GTZAN clips spread over the genres, else the example recordings."""
    from genrekit.audio import load_audio

    if (GTZAN / "manifest.csv").is_file():
        return "GTZAN", [(p, load_audio(GTZAN / p, duration=CLIP_SECONDS)) for p in gtzan_round_robin(n)]
    examples = sorted((REPO / "src" / "genrekit" / "data" / "examples").glob("*.[mo][pg][3g]"))
    return "examples", [(p.name, load_audio(p, duration=CLIP_SECONDS)) for p in examples[:n]]


def best_time(fn: Callable[[], object], repeat: int) -> float:
    """Least CPU time of ``repeat`` runs (one run when it takes over half a second).

    CPU time of this single-threaded process, not wall time: on a shared
    machine it leaves out the time other processes hold the core.
    """
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
        if best > 0.5:
            break
    return best


def agreement(names: list[str], ours: np.ndarray, ref: dict[str, float]) -> float:
    values = dict(zip(names, ours.tolist()))
    ok = [abs(values[k] - v) <= columns.ATOL + columns.RTOL * abs(v) for k, v in ref.items()]
    return float(np.mean(ok))


def measure(selected: list[str], signals: list[tuple[str, np.ndarray]], repeat: int) -> list[dict]:
    from genrekit.features import get_feature_set

    results = []
    for label in selected:
        name, options, naive = SETS[label]
        fs = get_feature_set(name, **options)
        fs.extract(signals[0][1], SR)  # warm-up: filterbanks, imports, librosa's numba cache
        naive(signals[0][1])
        ours_t, naive_t, agree = [], [], []
        for _, y in signals:
            ours_t.append(best_time(lambda: fs.extract(y, SR), repeat))
            naive_t.append(best_time(lambda: naive(y), repeat))
            agree.append(agreement(fs.column_names, fs.extract(y, SR), naive(y)))
        results.append(
            {
                "set": label,
                "columns": len(fs.columns),
                "genrekit_ms": 1e3 * float(np.mean(ours_t)),
                "naive_librosa_ms": 1e3 * float(np.mean(naive_t)),
                "speedup": float(np.sum(naive_t) / np.sum(ours_t)),
                "columns_agreeing": float(np.mean(agree)),
            }
        )
        print(f"  {label}: done", file=sys.stderr)
    return results


_COLD = """
import os, time, json
t0 = time.perf_counter()
import numpy as np
from genrekit.features import get_feature_set
t1 = time.perf_counter()
fs = get_feature_set({name!r})
y = np.random.default_rng(0).uniform(-0.5, 0.5, {n}).astype(np.float32)
t2 = time.perf_counter(); fs.extract(y, 22050); t3 = time.perf_counter(); fs.extract(y, 22050); t4 = time.perf_counter()
print(json.dumps({{"import_s": t1 - t0, "first_extract_s": t3 - t2, "second_extract_s": t4 - t3}}))
"""


def cold_start(name: str) -> dict[str, float]:
    """Import and first-call times in a fresh process with an empty numba cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        code = _COLD.format(name=name, n=int(CLIP_SECONDS * SR))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10, help="number of 30 s clips (default 10)")
    parser.add_argument("--repeat", type=int, default=5, help="best of this many runs per clip (default 5)")
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, from: {', '.join(SETS)}")
    parser.add_argument("--no-cold", action="store_true", help="skip the fresh-process first-call measurement")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    selected = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [s for s in selected if s not in SETS]
    if unknown:
        parser.error(f"unknown sets {unknown}; choose from {', '.join(SETS)}")

    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - the environment variables already ask for one thread
        pass
    warnings.filterwarnings("ignore")

    source, signals = clips(args.files)
    results = measure(selected, signals, args.repeat)
    cold = {} if args.no_cold else {name: cold_start(name) for name in ("seed", "default")}
    report = {
        "source": source,
        "clips": [name for name, _ in signals],
        "clip_seconds": CLIP_SECONDS,
        "repeat": args.repeat,
        "results": results,
        "cold_start": cold,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(
        f"{len(signals)} {source} clips of {CLIP_SECONDS:.0f} s, one thread, "
        f"CPU ms per clip (least of {args.repeat} runs, 1 run if > 0.5 s)\n"
    )
    print(f"{'set':<18} {'columns':>7} {'genrekit ms':>12} {'naive librosa ms':>17} {'speed-up':>9} {'agree':>6}")
    for r in results:
        print(
            f"{r['set']:<18} {r['columns']:>7} {r['genrekit_ms']:>12.1f} {r['naive_librosa_ms']:>17.1f} "
            f"{r['speedup']:>8.1f}x {100 * r['columns_agreeing']:>5.0f}%"
        )
    for name, c in cold.items():
        print(
            f"\nfresh process, empty numba cache, {name}: import genrekit.features {1e3 * c['import_s']:.0f} ms, "
            f"first extract {1e3 * c['first_extract_s']:.0f} ms, second {1e3 * c['second_extract_s']:.0f} ms"
        )


if __name__ == "__main__":
    main()
