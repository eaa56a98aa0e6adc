"""Whole-process time of `genrekit features --set gtzan57 --no-hpss` against a naive librosa script.

Makes 100 (``--files``) WAV clips of 30 s at 22050 Hz mono in a temporary
folder: the first GTZAN clips of ../shared/gtzan (round-robin over the
genres, as benchmarks/features.py picks them; decoded and written as 16-bit
WAV) when that folder exists, else synthetic music-like clips (tones, a
kick/snare beat, noise bursts). Then times, each in a fresh process with
start-up included (wall clock; CPU time is reported too):

(a) ``genrekit features DIR --set gtzan57 --no-hpss --no-cache -o out.parquet -q``
    (and, with ``--jobs 2``, the same with ``-j 2``);
(b) a naive librosa script computing the same 53 columns: every file loaded
    with ``librosa.load``, then the test suite's oracle
    (tests/features/librosa_oracle.py ``gtzan57(y, sr, hpss=False)``: each
    ``librosa.feature.*`` function called on ``y`` with its defaults, pooled
    with numpy; the baseline benchmarks/features.py uses), rows written to a CSV.

genrekit's runs take the least of ``--runs`` (3), the naive script's of
``--naive-runs`` (1: it takes about a minute). Both run with one BLAS/OpenMP
thread (``--threads``), one core against one core. ``--before-src DIR`` also
times the CLI of another copy of the package (``DIR/genrekit``), e.g. the
code before a change, in the same run. Before timing, each command runs once on one clip
(warms the OS file cache and librosa's on-disk numba cache, as on a machine
where librosa has been used before). Prints both wall times and the ratio
naive / genrekit, and checks that the two tables agree (the tests' tolerance).

    python benchmarks/features_cli.py [--files 100] [--runs 3] [--jobs 2] [--before-src DIR] [--synthetic] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
GTZAN = REPO.parent / "shared" / "gtzan"
SR = 22050
SECONDS = 30.0

NAIVE = r'''
import csv, importlib.util, sys, warnings
from pathlib import Path
import numpy as np
import librosa

warnings.filterwarnings("ignore")
spec = importlib.util.spec_from_file_location("librosa_oracle", {oracle!r})
oracle = importlib.util.module_from_spec(spec)
spec.loader.exec_module(oracle)
folder, out = Path(sys.argv[1]), sys.argv[2]
rows = []
for path in sorted(folder.glob("*.wav")):
    y, sr = librosa.load(path, sr=22050)
    rows.append({{"path": str(path), **oracle.gtzan57(y, sr, hpss=False)}})
with open(out, "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
'''


def gtzan_clips(n: int) -> list[tuple[str, np.ndarray]]:
    from genrekit.audio import load_audio

    from features import gtzan_round_robin  # benchmarks/features.py: the same clips, in the same order

    return [(Path(p).stem, load_audio(GTZAN / p, sr=SR, duration=SECONDS)) for p in gtzan_round_robin(n)]


def synthetic_clip(rng: np.random.Generator) -> np.ndarray:
    """30 s of a chord progression, a bass line, a kick/snare/hat beat and noise bursts."""
    n = int(SECONDS * SR)
    t = np.arange(n) / SR
    bpm = rng.uniform(70, 170)
    beat = 60.0 / bpm
    y = np.zeros(n)
    root = rng.uniform(110, 220)
    chord_len = 4 * beat
    for k in range(int(SECONDS / chord_len) + 1):
        lo, hi = int(k * chord_len * SR), min(n, int((k + 1) * chord_len * SR))
        if lo >= n:
            break
        f0 = root * 2 ** (rng.choice([0, 3, 5, 7, 8, 10]) / 12)
        seg = t[lo:hi] - t[lo]
        for ratio, amp in ((1.0, 0.2), (1.25, 0.12), (1.5, 0.12), (2.0, 0.06), (0.5, 0.15)):
            y[lo:hi] += amp * np.sin(2 * np.pi * f0 * ratio * seg) * np.exp(-seg / (2 * chord_len))
    for k in range(int(SECONDS / beat)):
        start = int(k * beat * SR)
        m = min(n - start, int(0.25 * SR))
        seg = np.arange(m) / SR
        if k % 2 == 0:  # kick
            y[start : start + m] += 0.6 * np.sin(2 * np.pi * (50 + 100 * np.exp(-seg * 30)) * seg) * np.exp(-seg * 12)
        else:  # snare
            y[start : start + m] += 0.3 * rng.standard_normal(m) * np.exp(-seg * 20)
        h = int(start + beat * SR / 2)
        if h + 2000 < n:  # hat
            y[h : h + 2000] += 0.05 * rng.standard_normal(2000) * np.exp(-np.arange(2000) / 300)
    for _ in range(rng.integers(2, 6)):  # noise bursts
        start, m = int(rng.uniform(0, SECONDS - 1) * SR), int(rng.uniform(0.1, 0.8) * SR)
        y[start : start + m] += 0.1 * rng.standard_normal(m)
    return (0.9 * y / np.max(np.abs(y))).astype(np.float32)


def make_clips(folder: Path, n: int, synthetic: bool) -> str:
    import soundfile as sf

    if not synthetic and (GTZAN / "manifest.csv").is_file():
        source, clips = "GTZAN", gtzan_clips(n)
    else:
        rng = np.random.default_rng(0)
        source, clips = "synthetic", [(f"synthetic.{i:05d}", synthetic_clip(rng)) for i in range(n)]
    for i, (name, y) in enumerate(clips):
        sf.write(folder / f"{i:03d}_{name}.wav", y, SR, subtype="PCM_16")
    return source


CPU: dict[str, float] = {}
"""CPU seconds (user + system) of the run :func:`timed` reported last, by label: on a shared
machine wall time includes waiting for a core, CPU time does not."""


def timed(command: list[str], env: dict[str, str], runs: int, label: str = "") -> float:
    """Least wall time of ``runs`` runs of ``command`` in a fresh process; its CPU time goes to ``CPU[label]``."""
    best = float("inf")
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        if elapsed < best:
            best = elapsed
            CPU[label] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return best


def compare(parquet: Path, naive_csv: Path) -> tuple[int, int]:
    """(columns x rows agreeing, total) between genrekit's table and the naive CSV, tests' tolerance."""
    import pyarrow.parquet as pq

    sys.path.insert(0, str(REPO / "tests" / "features"))
    from columns import ATOL, RTOL

    ours = pq.read_table(parquet).to_pydict()
    by_name = {Path(p).name: i for i, p in enumerate(ours["path"])}
    ok = total = 0
    with open(naive_csv, newline="") as f:
        for row in csv.DictReader(f):
            i = by_name[Path(row.pop("path")).name]
            for name, value in row.items():
                ref, got = float(value), float(ours[name][i])
                total += 1
                ok += abs(got - ref) <= ATOL + RTOL * abs(ref)
    return ok, total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100, help="number of 30 s WAV clips (default 100)")
    parser.add_argument("--runs", type=int, default=3, help="genrekit: least wall time of this many runs (default 3)")
    parser.add_argument("--naive-runs", type=int, default=1, help="naive librosa: least of this many runs (default 1)")
    parser.add_argument("--jobs", type=int, default=1, help="also time genrekit with -j JOBS when > 1")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads for both (default 1)")
    parser.add_argument("--synthetic", action="store_true", help="synthetic clips even where GTZAN is present")
    parser.add_argument("--skip-naive", action="store_true", help="time genrekit only (no ratio)")
    parser.add_argument("--naive-seconds", type=float, default=None, help="reuse a naive time measured before")
    parser.add_argument("--before-src", type=Path, default=None,
                        help="also time the CLI of another copy of the package (a folder holding genrekit/)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)

    env = {**os.environ}
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        env[var] = str(args.threads)
    genrekit = str(Path(sys.executable).with_name("genrekit"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clips, one = tmp / "clips", tmp / "one"
        clips.mkdir()
        one.mkdir()
        source = make_clips(clips, args.files, args.synthetic)
        os.sync()  # the clips' dirty pages written back now, not during the first timed run
        first = sorted(clips.glob("*.wav"))[0]
        shutil.copy(first, one / first.name)
        script = tmp / "naive_librosa.py"
        script.write_text(NAIVE.format(oracle=str(REPO / "tests" / "features" / "librosa_oracle.py")))

        def ours(folder: Path, out: Path, jobs: int = 1) -> list[str]:
            cmd = [genrekit, "features", str(folder), "--set", "gtzan57", "--no-hpss", "--no-cache", "-o", str(out), "-q"]
            return cmd + (["-j", str(jobs)] if jobs > 1 else [])

        naive = [sys.executable, str(script)]
        timed(ours(one, tmp / "warm.parquet"), env, 1)
        results: dict[str, float] = {}
        results["genrekit_s"] = timed(ours(clips, tmp / "out.parquet"), env, args.runs, "genrekit_cpu_s")
        if args.jobs > 1:
            results[f"genrekit_j{args.jobs}_s"] = timed(ours(clips, tmp / "out_j.parquet", args.jobs), env, args.runs,
                                                       f"genrekit_j{args.jobs}_cpu_s")
        if args.before_src is not None:
            before_env = {**env, "PYTHONPATH": str(args.before_src.resolve())}
            before = [sys.executable, "-c", "import sys; from genrekit.cli import main; sys.argv[0] = 'genrekit'; main()"]
            timed(before + ours(one, tmp / "warm.parquet")[1:], before_env, 1)
            results["genrekit_before_s"] = timed(before + ours(clips, tmp / "before.parquet")[1:], before_env, args.runs,
                                                 "genrekit_before_cpu_s")
        agree = None
        if args.naive_seconds is not None:
            results["naive_librosa_s"] = args.naive_seconds
        elif not args.skip_naive:
            timed(naive + [str(one), str(tmp / "warm.csv")], env, 1)
            results["naive_librosa_s"] = timed(naive + [str(clips), str(tmp / "naive.csv")], env, args.naive_runs,
                                               "naive_librosa_cpu_s")
            agree = compare(tmp / "out.parquet", tmp / "naive.csv")

    report = {"source": source, "files": args.files, "clip_seconds": SECONDS, "threads": args.threads,
              "runs": args.runs, "naive_runs": args.naive_runs, **{k: round(v, 3) for k, v in results.items()},
              **{k: round(v, 3) for k, v in CPU.items() if k}}
    if "naive_librosa_cpu_s" in CPU:
        report["cpu_ratio"] = round(CPU["naive_librosa_cpu_s"] / CPU["genrekit_cpu_s"], 2)
        if "genrekit_before_cpu_s" in CPU:
            report["cpu_ratio_before"] = round(CPU["naive_librosa_cpu_s"] / CPU["genrekit_before_cpu_s"], 2)
    if "naive_librosa_s" in results:
        report["ratio"] = round(results["naive_librosa_s"] / results["genrekit_s"], 2)
        if "genrekit_before_s" in results:
            report["ratio_before"] = round(results["naive_librosa_s"] / results["genrekit_before_s"], 2)
        if args.jobs > 1:
            report[f"ratio_j{args.jobs}"] = round(results["naive_librosa_s"] / results[f"genrekit_j{args.jobs}_s"], 2)
    if agree is not None:
        report["values_agreeing"] = f"{agree[0]}/{agree[1]}"
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{args.files} {source} WAV clips of {SECONDS:.0f} s, {args.threads} thread(s), whole-process wall time, "
          f"start-up included (genrekit: least of {args.runs} runs, naive: of {args.naive_runs})")
    print(f"  genrekit features --set gtzan57 --no-hpss : {results['genrekit_s']:8.2f} s")
    if args.jobs > 1:
        print(f"  ... with -j {args.jobs}                         : {results[f'genrekit_j{args.jobs}_s']:8.2f} s")
    if "genrekit_before_s" in results:
        print(f"  ... the same, package from {args.before_src}: {results['genrekit_before_s']:8.2f} s")
    if "naive_librosa_s" in results:
        print(f"  naive librosa (load + feature.* per clip)  : {results['naive_librosa_s']:8.2f} s")
        print(f"  ratio naive / genrekit                     : {report['ratio']:8.2f}x")
        if "genrekit_before_s" in results:
            print(f"  ratio naive / genrekit (before)            : {report['ratio_before']:8.2f}x")
        if args.jobs > 1:
            print(f"  ratio naive / genrekit -j {args.jobs}               : {report[f'ratio_j{args.jobs}']:8.2f}x")
    if "cpu_ratio" in report:
        cpu = ", ".join(f"{k.removesuffix('_cpu_s')} {v:.2f} s" for k, v in CPU.items() if k)
        print(f"  CPU time (user + sys): {cpu}")
        print(f"  CPU-time ratio naive / genrekit           : {report['cpu_ratio']:8.2f}x"
              + (f" (before: {report['cpu_ratio_before']:.2f}x)" if "cpu_ratio_before" in report else ""))
    if agree is not None:
        print(f"  values agreeing (rtol 1e-3)                : {report['values_agreeing']}")


if __name__ == "__main__":
    main()
