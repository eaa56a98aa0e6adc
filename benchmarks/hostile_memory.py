"""Peak memory and time of genrekit on hostile input and on long recordings.

Each figure is one fresh ``genrekit`` process, measured by the kernel
(``os.wait4``'s peak RSS), so it includes start-up, the model and onnxruntime:

- ``predict --json`` and ``features`` on a folder holding every kind of
  tests/hostile.py plus five good clips (acceptance: peak RSS < 1.5 GB);
- ``predict --coverage full`` (every window) on WAVs of 30 s (the baseline),
  10 minutes and 2 hours, 44.1 kHz stereo (acceptance: 2 hours < 1 GB; memory
  must not grow with length);
- loading each hostile model file (acceptance: < 1 GB and a few seconds each).

    python benchmarks/hostile_memory.py [--hours 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from hostile import MODEL_KINDS, make_audio_folder, make_model_files  # noqa: E402

BUNDLED = ROOT / "src" / "genrekit" / "data" / "models" / "default.genre"
RUN_CLI = "import sys; from genrekit.cli import main; sys.argv[0] = 'genrekit'; main()"


def measured(argv: list[object], env: dict[str, str] | None = None) -> dict[str, float | int]:
    """Run ``genrekit ARGV`` in a fresh process (``env``: its environment): exit code, wall seconds, peak RSS in MB."""
    args = [os.fsencode(str(a)) if isinstance(a, Path) else str(a) for a in argv]
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", RUN_CLI, *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"exit": proc.returncode, "seconds": round(time.perf_counter() - started, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def long_wav(path: Path, seconds: float, sr: int = 44100) -> Path:
    """A stereo 16-bit WAV of ``seconds``, written in one-minute blocks (never whole in memory)."""
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", sr, 2, subtype="PCM_16") as f:
        left = seconds
        while left > 0:
            n = int(min(60.0, left) * sr)
            t = np.arange(n) / sr
            y = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(n)
            f.write(np.stack([y, 0.8 * y], axis=1).astype(np.float32))
            left -= 60.0
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=2.0, help="length of the longest WAV")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skip-folder", action="store_true", help="only the long files and the model files")
    args = parser.parse_args()
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        folder = tmp_path / "library"
        _, made = make_audio_folder(folder)
        explicit = [Path(p) for p in made if not Path(p).is_file()]  # a FIFO, a dangling link: named explicitly
        existing = [p for p in explicit if p.exists()]  # features takes sources: a missing one is a usage error
        figures["hostile folder"] = {} if args.skip_folder else {
            "files": len(made) + 5,
            "predict --json": measured(["predict", "--json", folder, *explicit]),
            "predict (table)": measured(["predict", folder, *explicit]),
            "features --set seed": measured(["features", folder, *existing, "--set", "seed", "--no-cache",
                                             "-o", tmp_path / "f.parquet"]),
        }
        lengths = {"30 s (baseline)": 30.0, "10 min": 600.0, f"{args.hours:g} h": args.hours * 3600}
        long_files = {}
        for name, seconds in lengths.items():
            wav = long_wav(tmp_path / f"{int(seconds)}.wav", seconds)
            long_files[name] = {"MB on disk": round(wav.stat().st_size / 1e6),
                                **measured(["predict", "--json", "--coverage", "full", wav])}
            wav.unlink()
        figures["predict on 44.1 kHz stereo WAV"] = long_files
        models = make_model_files(BUNDLED, tmp_path / "models")
        probe = tmp_path / "probe.wav"
        long_wav(probe, 4.0)
        figures["hostile model files"] = {kind.name: measured(["predict", "--model", path, probe])
                                          for path, kind in models.items()}
        figures["hostile model files"]["(baseline: the bundled model)"] = measured(["predict", probe])
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for section, rows in figures.items():
        print(f"\n{section}")
        for name, row in rows.items():
            if isinstance(row, dict):
                print(f"  {name:45s} " + "  ".join(f"{k} {v}" for k, v in row.items()))
            else:
                print(f"  {name:45s} {row}")
    assert len(MODEL_KINDS) == len(figures["hostile model files"]) - 1


if __name__ == "__main__":
    main()
