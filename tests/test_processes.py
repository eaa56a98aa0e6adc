"""Worker pools: workers die with a SIGKILLed parent and never hold its stdout (``genrekit features -j 2 | cat``)."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from genrekit.processes import worker_pool

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux only)")

GRACE = 5.0  # seconds the workers may take to notice that their parent is gone


# --------------------------------------------------------------------------- /proc helpers


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state first), or None when there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def _start_time(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return None if fields is None else fields[19]  # starttime: tells a reused pid apart


def _alive(pid: int, started: str | None) -> bool:
    """Running (not a zombie awaiting its reaper) and still the process first seen under this pid."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z" and fields[19] == started


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and fields[1] == str(pid):
                out.append(int(entry.name))
    return out


def _wait_gone(pids: dict[int, str | None], timeout: float) -> tuple[list[int], float]:
    """Wait until none of ``pids`` is alive; returns those still alive at the deadline and the seconds waited."""
    t0 = time.monotonic()
    while True:
        alive = [p for p, s in pids.items() if _alive(p, s)]
        waited = time.monotonic() - t0
        if not alive or waited > timeout:
            return alive, waited
        time.sleep(0.05)


def _read_to_eof(fd: int, timeout: float) -> tuple[bool, float]:
    """Drain ``fd`` until end of file; ``(reached EOF, seconds waited)``."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready and os.read(fd, 65536) == b"":
            return True, time.monotonic() - t0
    return False, time.monotonic() - t0


def _kill_all(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


# --------------------------------------------------------------------------- worker_pool


POOL_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from concurrent.futures import ProcessPoolExecutor

    from genrekit.processes import worker_pool

    def no_death_signal():  # leaves only the watchdog thread to notice the parent's death
        import ctypes
        ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)

    def slow(folder, seconds):
        open(os.path.join(folder, str(os.getpid())), "w").close()
        time.sleep(seconds)

    if __name__ == "__main__":
        folder, kind = sys.argv[1], sys.argv[2]
        if kind == "worker_pool":
            pool = worker_pool(2)
        elif kind == "watchdog_only":
            pool = worker_pool(2, initializer=no_death_signal)
        else:  # a bare executor, for comparison
            pool = ProcessPoolExecutor(2)
        futures = [pool.submit(slow, folder, 60) for _ in range(2)]
        print("parent talking on stdout", flush=True)
        for f in futures:
            f.result()
    """
)


def _run_pool_parent(tmp_path: Path, kind: str = "worker_pool"):
    """Start the helper; returns ``(proc, {worker pid: start time})`` once both workers are in their 60 s task."""
    script = tmp_path / "pool_parent.py"
    script.write_text(POOL_SCRIPT)
    started = tmp_path / "started"
    started.mkdir()
    proc = subprocess.Popen([sys.executable, str(script), str(started), kind], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(list(started.iterdir())) < 2:
        assert proc.poll() is None, "the helper exited early"
        assert time.monotonic() < deadline, "the helper's workers never started"
        time.sleep(0.05)
    pids = [int(p.name) for p in started.iterdir()]
    return proc, {p: _start_time(p) for p in pids}


@pytest.mark.parametrize("kind", ["worker_pool", "watchdog_only"])
def test_workers_die_within_seconds_of_a_sigkilled_parent(tmp_path, kind):
    """With the kernel's death signal, and also without it (``watchdog_only``: the polling thread alone)."""
    proc, workers = _run_pool_parent(tmp_path, kind)
    try:
        assert all(_alive(p, s) for p, s in workers.items())
        proc.kill()
        proc.wait(timeout=10)
        alive, waited = _wait_gone(workers, GRACE)
        assert alive == [], f"workers {alive} still alive {waited:.1f} s after their parent was killed"
    finally:
        _kill_all(workers)
        proc.stdout.close()


def test_workers_do_not_hold_the_parents_stdout(tmp_path):
    proc, workers = _run_pool_parent(tmp_path)
    try:
        fd = proc.stdout.fileno()
        proc.kill()
        proc.wait(timeout=10)
        eof, waited = _read_to_eof(fd, GRACE)
        assert eof, f"the parent's stdout pipe was still held open {waited:.1f} s after it was killed"
    finally:
        _kill_all(workers)
        proc.stdout.close()


def test_worker_pool_runs_the_initializer_and_returns_results(tmp_path):
    # builtins as initializer and tasks: spawned workers cannot import this test module by name
    with worker_pool(1, initializer=os.chdir, initargs=(str(tmp_path),)) as pool:
        assert pool.submit(os.getcwd).result(timeout=60) == str(tmp_path)
        assert pool.submit(os.getppid).result(timeout=60) == os.getpid()
        # the worker's standard streams are /dev/null, not this process's
        assert [pool.submit(os.readlink, f"/proc/self/fd/{fd}").result(timeout=60) for fd in (0, 1, 2)] == [
            os.devnull
        ] * 3


# --------------------------------------------------------------------------- map_in_workers


class _BreakingPool:
    """Stands in for a worker pool whose worker dies between two submits (a race no real pool hits on demand).

    Its first task succeeds; its second is lost with the pool (its future raises ``BrokenProcessPool``); the
    third ``submit`` raises ``BrokenProcessPool`` itself, as a real pool's does once the pool knows it is broken.
    """

    def __init__(self) -> None:
        self.submitted = 0

    def submit(self, fn, item):
        from concurrent.futures import Future
        from concurrent.futures.process import BrokenProcessPool

        self.submitted += 1
        if self.submitted == 3:
            raise BrokenProcessPool("a child process terminated abruptly")
        future: Future = Future()
        if self.submitted == 1:
            future.set_result(fn(item))
        else:
            future.set_exception(BrokenProcessPool("a child process terminated abruptly"))
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


def test_a_pool_that_breaks_between_submits_loses_no_item(monkeypatch):
    """Regression: a worker dying after the last wait made the next ``submit`` raise out of ``map_in_workers``.

    Items finished before the break keep their results, the one in flight is retried alone, and those never
    submitted go to a fresh pool; none is reported as a crash, since none crashed a worker of its own.
    """
    from concurrent.futures import ThreadPoolExecutor

    import genrekit.processes as processes

    pools = []

    def fake_pool(jobs, **_):
        pools.append(_BreakingPool() if not pools else ThreadPoolExecutor(jobs))
        return pools[-1]

    monkeypatch.setattr(processes, "worker_pool", fake_pool)
    crashed = []
    out = list(processes.map_in_workers(abs, range(-6, 0), 2, on_crash=crashed.append))
    assert out == [(i, abs(i)) for i in range(-6, 0)]
    assert crashed == []
    assert pools[0].submitted == 3 and len(pools) >= 2


# --------------------------------------------------------------------------- the real command


def test_killed_features_command_leaves_no_worker_and_closes_its_stdout(tmp_path):
    """``genrekit features -j 2`` killed with SIGKILL mid-run: its workers go, and ``| cat`` would end."""
    import soundfile as sf

    folder = tmp_path / "music"
    (folder / "a").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(8):  # gtzan57 with HPSS: about 1.5 s of CPU per 30 s file
        sf.write(str(folder / "a" / f"t{i}.wav"), 0.1 * rng.standard_normal(30 * 22050).astype(np.float32), 22050)
    cache = tmp_path / "cache"
    code = "import sys; sys.argv[0] = 'genrekit'; from genrekit.cli import main; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "features", "-j", "2", str(folder), "--set", "gtzan57", "-q",
         "-o", str(tmp_path / "out.parquet"), "--cache-dir", str(cache)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    workers: dict[int, str | None] = {}
    try:
        deadline = time.monotonic() + 60
        while not list(cache.glob("features/*/*/*.npy")):  # the workers are up and computing
            assert proc.poll() is None, "the command ended before its workers got going"
            assert time.monotonic() < deadline, "no file was computed within 60 s"
            time.sleep(0.05)
        workers = {p: _start_time(p) for p in _children(proc.pid)}  # workers (and multiprocessing's tracker)
        assert len(workers) >= 2
        fd = proc.stdout.fileno()
        proc.kill()
        proc.wait(timeout=10)
        alive, waited = _wait_gone(workers, GRACE)
        assert alive == [], f"processes {alive} still alive {waited:.1f} s after `genrekit features` was killed"
        eof, waited = _read_to_eof(fd, GRACE)
        assert eof, "the command's stdout was still held open after it was killed"
        assert not (tmp_path / "out.parquet").exists()
    finally:
        proc.kill()
        _kill_all(workers)
        proc.stdout.close()
