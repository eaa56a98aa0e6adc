"""How fast `genrekit predict` is, each figure beside its baseline from the same run.

- cold CLI on a 3-minute 44.1 kHz stereo MP3 (median of ``--runs``), with
  ``--coverage fast`` (the default) and ``--coverage full`` (every window: what
  the CLI did before coverage existed);
- a folder of ``--songs`` such MP3s with ``-j 1`` and ``-j 2``: songs per second,
  against merely decoding the same files with soundfile in as many processes;
- ms per 3-s window through the bundled model (log-mel, network, head) at 1 and
  2 onnxruntime threads (``--int8 M.genre`` adds a quantised model's rows,
  ``--model M.genre`` another model's);
- peak RSS of ``predict`` on a ``--hours``-long 44.1 kHz stereo WAV, both coverages.

``--before-src DIR`` adds "before" rows measured in the same run: the CLI of
another copy of the package (``DIR/genrekit``, e.g. ``git worktree add
/tmp/before REV`` and ``DIR=/tmp/before/src``) for the cold CLI and the
folder, and its bundled model's graph for ms per patch. Both source trees
are byte-compiled first (``compileall``), as installing a wheel does: an
editable install under ``PYTHONDONTWRITEBYTECODE`` would otherwise compile
every genrekit module on every start.

    python benchmarks/engine.py [--songs 50] [--runs 5] [--hours 3] [--before-src DIR] [--json]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hostile_memory import long_wav, measured  # noqa: E402
from predict_cli import make_mp3  # noqa: E402


REPO = Path(__file__).resolve().parents[1]


def cold_cli(mp3: Path, runs: int, before: dict[str, str] | None) -> dict[str, object]:
    out: dict[str, object] = {}
    cases = [("fast", None, ""), ("full", None, "")] + ([("fast", before, "before, ")] if before else [])
    for coverage, env, label in cases:
        measured(["predict", mp3, "--json", "--coverage", coverage], env)  # warm the OS file cache
        times = [measured(["predict", mp3, "--json", "--coverage", coverage], env)["seconds"] for _ in range(runs)]
        out[f"{label}--coverage {coverage}"] = {"median_s": round(statistics.median(times), 2), "min_s": min(times)}
    return out


def _decode(path: str) -> int:
    return len(sf.read(path, dtype="float32")[0])


def folder(folder_path: Path, songs: list[Path], before: dict[str, str] | None) -> dict[str, object]:
    out: dict[str, object] = {}
    for jobs in (1, 2):
        started = time.perf_counter()
        with ProcessPoolExecutor(jobs) as pool:
            list(pool.map(_decode, [str(s) for s in songs]))
        decode_s = time.perf_counter() - started
        for env, label in [(None, "")] + ([(before, "before, ")] if before else []):
            run = measured(["predict", folder_path, "--json", "-q", "-j", jobs], env)
            out[f"{label}-j {jobs}"] = {
                "songs_per_s": round(len(songs) / run["seconds"], 2),
                "decode_only_songs_per_s": round(len(songs) / decode_s, 2),
                "ratio_to_decoding": round(decode_s / run["seconds"], 3),
                "peak_rss_mb": run["peak_rss_mb"],
            }
    return out


def patch_ms(model_paths: dict[str, Path | None]) -> dict[str, object]:
    """ms per 3-s window through a model as prediction runs it: log-mel, network and head (a CNN's graph holds the
    network; a probe's network is the package's musicnn), 4 windows per call, median of 5 after a warm-up."""
    from threadpoolctl import threadpool_limits

    from genrekit.predict import BUNDLED_MODEL, load_model

    out: dict[str, object] = {}
    for name, path in model_paths.items():
        for threads in (1, 2):
            classifier = load_model(path or BUNDLED_MODEL)
            classifier.set_threads(threads)
            sr = classifier.sample_rate
            y = np.random.default_rng(0).uniform(-0.3, 0.3, int(4 * classifier.windowing.window * sr)).astype(np.float32)
            with threadpool_limits(1, user_api="blas"):  # as prediction runs (genrekit.batch)
                starts, _ = classifier.window_probabilities(y)  # warm-up: sessions, arenas, mel bases
                times = []
                for _ in range(5):
                    started = time.perf_counter()
                    classifier.window_probabilities(y)
                    times.append((time.perf_counter() - started) / len(starts))
            out[f"{name}, {threads} thread{'s' if threads > 1 else ''}"] = round(1000 * statistics.median(times), 1)
    return out


def long_file(tmp: Path, hours: float) -> dict[str, object]:
    wav = long_wav(tmp / "long.wav", hours * 3600)
    out = {coverage: measured(["predict", wav, "--json", "--coverage", coverage]) for coverage in ("fast", "full")}
    wav.unlink()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--songs", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--int8", type=Path, default=None, help="a quantised model file to time beside the bundled one")
    parser.add_argument("--model", type=Path, action="append", default=[],
                        help="another model file to time per window beside the bundled one (repeatable)")
    parser.add_argument("--skip-long", action="store_true", help="leave out the long-WAV memory figure")
    parser.add_argument("--before-src", type=Path, default=None,
                        help="also time another copy of the package (a folder holding genrekit/), in the same run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures: dict[str, object] = {}
    before = None
    for tree in [REPO / "src"] + ([args.before_src] if args.before_src else []):
        compileall.compile_dir(str(tree / "genrekit"), quiet=1)
    if args.before_src is not None:
        before = {**os.environ, "PYTHONPATH": str(args.before_src.resolve())}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        mp3 = make_mp3(tmp_path)
        figures["cold CLI, 3-min MP3 (s)"] = cold_cli(mp3, args.runs, before)
        library = tmp_path / "library"
        library.mkdir()
        songs = []
        for i in range(args.songs):  # the same song under many names: decoding cost is what matters here
            song = library / f"song{i:03d}.mp3"
            song.write_bytes(mp3.read_bytes())
            songs.append(song)
        figures[f"folder of {args.songs} 3-min MP3s"] = folder(library, songs, before)
        if not args.skip_long:  # before this process loads any model: a child's peak RSS counts its parent's at fork
            figures[f"predict on a {args.hours:g}-hour WAV"] = long_file(tmp_path, args.hours)
        before_model = args.before_src / "genrekit/data/models/default.genre" if args.before_src else None
        figures["ms per 3-s window"] = patch_ms({"bundled default": None,
                                                 **({"before: its bundled model": before_model} if before_model else {}),
                                                 **{m.name: m for m in args.model},
                                                 **({"int8": args.int8} if args.int8 else {})})
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for section, rows in figures.items():
        print(f"\n{section}")
        for name, row in rows.items():  # type: ignore[union-attr]
            print(f"  {name:28s} " + ("  ".join(f"{k} {v}" for k, v in row.items()) if isinstance(row, dict) else str(row)))


if __name__ == "__main__":
    main()
