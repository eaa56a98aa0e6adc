"""Time musicnn on 30-second clips: decoding + resampling, log-mel patches, network; prints figures.

    python scripts/musicnn/benchmark.py [--threads 2] [--repeats 7] [--model MSD_musicnn|MTT_musicnn|MSD_vgg|MTT_vgg]

Uses the networks shipped in the package (or a conversion in
``$GENREKIT_DATA/models/musicnn``) and 30 s excerpts of the example recordings. Reports medians in milliseconds, plus the
load average, since other processes on a shared machine skew the numbers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "genrekit" / "data" / "examples"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="MSD_musicnn", choices=("MSD_musicnn", "MTT_musicnn", "MSD_vgg", "MTT_vgg"))
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime intra-op threads (default: its own choice)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()

    from genrekit.audio import load_audio
    from genrekit.musicnn import frontend
    from genrekit.musicnn.model import load

    t0 = time.perf_counter()
    net = load(args.model, threads=args.threads)
    load_ms = (time.perf_counter() - t0) * 1000
    files = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".ogg", ".mp3"))
    net.analyze(load_audio(files[0], 16000, duration=args.seconds), 16000)  # warm-up

    rows = {"decode": [], "mel": [], "network": [], "total": []}
    cpu = []
    for _ in range(args.repeats):
        for path in files:
            c0 = time.process_time()
            t0 = time.perf_counter()
            y = load_audio(path, frontend.SAMPLE_RATE, offset=10.0, duration=args.seconds)
            t1 = time.perf_counter()
            patches, _ = frontend.signal_patches(y, net.mel_basis)
            t2 = time.perf_counter()
            net.run(patches)
            t3 = time.perf_counter()
            cpu.append(time.process_time() - c0)
            for key, value in (("decode", t1 - t0), ("mel", t2 - t1), ("network", t3 - t2), ("total", t3 - t0)):
                rows[key].append(value * 1000)
    print(
        f"musicnn {args.model}, {args.seconds:.0f} s clips ({len(patches)} patches each), threads={args.threads or 'default'}, "
        f"{len(files)} files x {args.repeats} repeats; load average {os.getloadavg()[0]:.2f}; model load {load_ms:.0f} ms"
    )
    for key, values in rows.items():
        print(f"  {key:8s} median {statistics.median(values):7.1f} ms   min {min(values):7.1f} ms")
    print(f"  cpu time per clip (all threads) median {statistics.median(cpu) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
