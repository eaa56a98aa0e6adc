"""A bounded load test of `genrekit serve` on loopback, each figure beside its baseline from the same run.

Starts ``genrekit serve`` as a subprocess on a free port, then ``--clients``
concurrent clients (httpx, asyncio) upload the same 30-second 44.1 kHz
stereo MP3 to ``POST /v1/classify`` in a loop for ``--seconds``, then stop.
Two runs, as issue 14 asks:

- ``--queue`` at least the load (every client can wait): requests per
  second, latency p50/p95/p99, answers by status code (no 500), and the
  server's RSS before and after (VmRSS) and its peak (VmHWM): bounded memory;
- ``--queue`` smaller than the load: the clients beyond it get 503 ``busy``
  at once (their latency is shown apart), not a timeout.

Baseline: the same clip classified in-process by the same model
(``GenreClassifier.predict``, median of 3), so ``workers / that time`` is the
throughput the server cannot beat; the ratio shows what HTTP, uploads and
queueing cost.

    python benchmarks/serve.py [--clients 50] [--seconds 20] [--workers 2] [--small-queue 4] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hostile_memory import RUN_CLI  # noqa: E402
from predict_cli import make_mp3  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of ``pid`` from /proc, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return fields


def start_server(port: int, workers: int, queue: int, model: Path | None) -> subprocess.Popen:
    argv = [sys.executable, "-c", RUN_CLI, "serve", "-q", "--port", str(port), "--workers", str(workers),
            "--queue", str(queue)] + (["--model", str(model)] if model else [])
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"genrekit serve exited: {proc.stderr.read().decode(errors='replace')}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("genrekit serve did not answer /healthz within 120 s")


async def load(url: str, clip: bytes, clients: int, seconds: float) -> dict[str, object]:
    """``clients`` loops uploading ``clip`` until ``seconds`` pass; every answer's status and latency."""
    answers: list[tuple[int | str, float]] = []
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(timeout=httpx.Timeout(600.0), limits=limits) as client:
        async def one_client() -> None:
            while time.monotonic() < deadline:
                began = time.perf_counter()
                try:
                    response = await client.post(url, files={"file": ("clip.mp3", clip)})
                    status: int | str = response.status_code
                except httpx.HTTPError as error:  # a client-side failure (timeout, reset): counted apart
                    status = type(error).__name__
                answers.append((status, time.perf_counter() - began))

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {"answers": answers, "elapsed_s": elapsed}


def percentiles(latencies: list[float]) -> dict[str, float | None]:
    if not latencies:
        return {"p50_s": None, "p95_s": None, "p99_s": None, "max_s": None}
    if len(latencies) == 1:
        return {"p50_s": round(latencies[0], 3), "p95_s": round(latencies[0], 3), "p99_s": round(latencies[0], 3),
                "max_s": round(latencies[0], 3)}
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50_s": round(q[49], 3), "p95_s": round(q[94], 3), "p99_s": round(q[98], 3),
            "max_s": round(max(latencies), 3)}


def run(clip: bytes, *, clients: int, seconds: float, workers: int, queue: int, model: Path | None) -> dict:
    port = free_port()
    server = start_server(port, workers, queue, model)
    try:
        url = f"http://127.0.0.1:{port}/v1/classify"
        httpx.post(url, files={"file": ("clip.mp3", clip)}, timeout=600).raise_for_status()  # warm: first session
        before = memory_mb(server.pid)
        result = asyncio.run(load(url, clip, clients, seconds))
        after = memory_mb(server.pid)
        alive = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    answers = result["answers"]
    codes = Counter(str(status) for status, _ in answers)
    ok = [latency for status, latency in answers if status == 200]
    busy = [latency for status, latency in answers if status == 503]
    return {
        "clients": clients, "seconds": seconds, "workers": workers, "queue": queue,
        "requests": len(answers), "answered_200": len(ok),
        "ok_per_s": round(len(ok) / result["elapsed_s"], 2),
        "by_code": dict(sorted(codes.items())),
        "latency_200": percentiles(ok),
        "latency_503": percentiles(busy),
        "rss_mb_before": before["VmRSS"], "rss_mb_after": after["VmRSS"], "peak_rss_mb": after["VmHWM"],
        "healthy_after": alive,
    }


def baseline(mp3: Path, model: Path | None) -> float:
    from genrekit.predict import load_model

    classifier = load_model(model)
    classifier.predict(mp3, coverage="full")
    times = []
    for _ in range(3):
        began = time.perf_counter()
        classifier.predict(mp3, coverage="full")
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each run keeps the clients going")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--small-queue", type=int, default=4, help="the second run's --queue (below the load)")
    parser.add_argument("--clip-seconds", type=float, default=30.0)
    parser.add_argument("--model", type=Path, default=None, help="a .genre to serve (default: the bundled model)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        mp3 = make_mp3(Path(tmp), seconds=args.clip_seconds)
        clip = mp3.read_bytes()
        one_clip_s = baseline(mp3, args.model)
        report = {
            "clip": {"seconds": args.clip_seconds, "bytes": len(clip), "format": "MP3 44.1 kHz stereo"},
            "baseline": {"in_process_s_per_clip": round(one_clip_s, 3),
                         "ideal_per_s": round(args.workers / one_clip_s, 2)},
            "queue_above_load": run(clip, clients=args.clients, seconds=args.seconds, workers=args.workers,
                                    queue=args.clients, model=args.model),
            "queue_below_load": run(clip, clients=args.clients, seconds=args.seconds, workers=args.workers,
                                    queue=args.small_queue, model=args.model),
            "cpus": os.cpu_count(),
        }
    for name in ("queue_above_load", "queue_below_load"):
        report[name]["ratio_to_ideal"] = round(report[name]["ok_per_s"] / report["baseline"]["ideal_per_s"], 3)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    base = report["baseline"]
    print(f"clip: {args.clip_seconds:g} s MP3, {len(clip) / 1024:.0f} kB; baseline in-process "
          f"{base['in_process_s_per_clip']} s per clip -> ideal {base['ideal_per_s']}/s with {args.workers} workers")
    for name in ("queue_above_load", "queue_below_load"):
        r = report[name]
        lat, busy = r["latency_200"], r["latency_503"]
        print(f"\n{name}: {r['clients']} clients x {r['seconds']:g} s, --workers {r['workers']} --queue {r['queue']}")
        print(f"  answers by code: {r['by_code']}")
        print(f"  200s per second: {r['ok_per_s']} (ideal {base['ideal_per_s']}, ratio {r['ratio_to_ideal']})")
        print(f"  200 latency p50/p95/p99/max: {lat['p50_s']} / {lat['p95_s']} / {lat['p99_s']} / {lat['max_s']} s")
        if r["by_code"].get("503"):
            print(f"  503 latency p50/p99: {busy['p50_s']} / {busy['p99_s']} s")
        print(f"  server RSS before {r['rss_mb_before']} MB, after {r['rss_mb_after']} MB, peak {r['peak_rss_mb']} MB;"
              f" healthy after: {r['healthy_after']}")


if __name__ == "__main__":
    main()
