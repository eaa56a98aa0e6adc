"""Wall-clock time of `genrekit predict` on a 3-minute MP3, start-up included.

Makes a 3-minute 44.1 kHz stereo MP3 from the bundled metal example (a typical
library file), then runs the CLI several times in fresh processes.

    python benchmarks/predict_cli.py [--model M.genre] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from genrekit.audio import load_audio, resample

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "genrekit" / "data" / "examples" / "metal_muldjord_armygeddon.ogg"


def make_mp3(folder: Path, seconds: float = 180.0) -> Path:
    y = load_audio(EXAMPLE, sr=22050)[: int(seconds * 22050)]
    y = resample(y, 22050, 44100)
    stereo = np.stack([y, 0.9 * y], axis=1)
    path = folder / "three_minutes.mp3"
    sf.write(path, stereo, 44100, format="MP3")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    genrekit = Path(sys.executable).with_name("genrekit")
    with tempfile.TemporaryDirectory() as tmp:
        mp3 = make_mp3(Path(tmp))
        command = [str(genrekit), "predict", str(mp3), "--json"]
        if args.model:
            command += ["--model", str(args.model)]
        subprocess.run(command, check=True, capture_output=True)  # warm the OS file cache
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            out = subprocess.run(command, check=True, capture_output=True, text=True)
            times.append(time.perf_counter() - t0)
        result = json.loads(out.stdout)
    figures = {
        "file": "3 min, 44.1 kHz stereo MP3",
        "model": str(args.model or "bundled"),
        "runs": args.runs,
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
        "genre": result.get("genre"),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>9}: {value}")


if __name__ == "__main__":
    main()
