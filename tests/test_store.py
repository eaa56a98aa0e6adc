"""Feature tables: rows per window, per-file failures, content-keyed cache, resuming, parallel runs."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from genrekit.audio import Windowing, load_audio
from genrekit.datasets import Record, load_dataset
from genrekit.errors import CorruptAudioError, EmptyAudioError, UnsupportedAudioError
from genrekit.store import (
    META_COLUMNS,
    FeatureTableError,
    compute_features,
    config_key,
    failures_path,
    file_hash,
    read_failures,
    read_metadata,
    read_table,
    write_table,
)

SR = 22050

# A feature set in a module of its own, so that spawned workers and a separate
# process can import it by name (test modules are not importable under
# pytest's importlib mode).
TEST_SETS = textwrap.dedent(
    '''
    import time
    import numpy as np
    from genrekit.features.base import Column, FeatureSet

    class MeanStd(FeatureSet):
        """Mean, standard deviation and peak of a window; counts its calls."""

        name = "test-meanstd"
        version = "1"

        def __init__(self, scale=1.0, fail_after=None, delay=0.0):
            self.scale = scale
            self.fail_after = fail_after  # raise KeyboardInterrupt on call fail_after + 1
            self.delay = delay
            self.calls = 0

        @property
        def columns(self):
            return (Column("mean", "mean sample value"), Column("std", "standard deviation"), Column("peak", "max |y|"))

        def options(self):
            return {"scale": self.scale}

        def extract(self, y, sr):
            if self.fail_after is not None and self.calls >= self.fail_after:
                raise KeyboardInterrupt
            self.calls += 1
            if self.delay:
                time.sleep(self.delay)
            return self.scale * np.array([y.mean(), y.std(), np.abs(y).max()], dtype=np.float64)

    class Crashy(MeanStd):
        """Kills its process on windows of exactly 1.3 s, as a segfaulting decoder would."""

        name = "test-crashy"

        def extract(self, y, sr):
            if len(y) == int(1.3 * sr):
                import os
                os._exit(3)
            return super().extract(y, sr)

    class NaNs(MeanStd):
        name = "test-nans"

        def extract(self, y, sr):
            return np.array([np.nan, 0.0, 0.0])
    '''
)


@pytest.fixture(scope="module")
def sets_module(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sets")
    (folder / "genrekit_store_testsets.py").write_text(TEST_SETS)
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module("genrekit_store_testsets")
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("genrekit_store_testsets", None)


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


def tone(freq: float, seconds: float = 1.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def make_good(write_audio, n: int, folder: str = "lib") -> list[Path]:
    """``n`` one-second files in two genre folders, in wav/flac/ogg/mp3."""
    exts = ["wav", "flac", "ogg", "mp3"]
    paths = []
    for i in range(n):
        genre = "low" if i % 2 == 0 else "high"
        freq = (110 if genre == "low" else 1760) * (1 + 0.05 * i)
        paths.append(write_audio(f"{folder}/{genre}/track{i:02d}.{exts[i % 4]}", tone(freq, amp=0.2 + 0.02 * i)))
    return paths


def make_broken(tmp_path: Path, write_audio, folder: str = "lib") -> dict[str, type]:
    """A truncated mp3, random bytes named .wav and a zero-length file; expected error per name."""
    mp3 = write_audio(f"{folder}/low/cut.mp3", tone(300, seconds=2.0))
    data = mp3.read_bytes()
    mp3.write_bytes(data[: len(data) // 2])
    (tmp_path / folder / "high" / "noise.wav").write_bytes(np.random.default_rng(0).bytes(5000))
    (tmp_path / folder / "high" / "empty.flac").write_bytes(b"")
    return {"cut.mp3": CorruptAudioError, "noise.wav": UnsupportedAudioError, "empty.flac": EmptyAudioError}


def n_cached(cache: Path) -> int:
    return len(list(cache.glob("features/*/*/*.npy")))


# --------------------------------------------------------------------------- acceptance


def test_twenty_good_and_three_broken_files(tmp_path, write_audio, cache, sets_module):
    good = make_good(write_audio, 20)
    broken = make_broken(tmp_path, write_audio)
    records = load_dataset(tmp_path / "lib")
    assert len(records) == 23
    fs = sets_module.MeanStd()
    result = compute_features(records, fs, cache_dir=cache)

    assert (result.computed, result.cached, result.failed) == (20, 0, 3)
    assert result.n_rows == 20
    assert sorted(result.table["path"].to_pylist()) == sorted(str(p) for p in good)
    assert {Path(f.path).name: f.error for f in result.failures} == {k: v.__name__ for k, v in broken.items()}
    assert all(Path(f.path).name in f.message for f in result.failures)
    assert fs.calls == 20

    out = write_table(result, tmp_path / "t.parquet")
    assert pq.read_table(out).num_rows == 20
    assert {Path(f.path).name for f in read_failures(out)} == set(broken)

    # the numbers are the feature set's, on the decoded audio
    m = read_table(out)
    i = list(m.paths).index(str(good[3]))
    y = load_audio(good[3])
    np.testing.assert_allclose(m.X[i], [y.mean(), y.std(), np.abs(y).max()], rtol=1e-5, atol=1e-7)
    assert m.labels[i] == "high" and m.groups[i] == "track03" and m.splits[i] is None


def test_rows_follow_records_and_windows(tmp_path, write_audio, cache, sets_module):
    a = write_audio("a.wav", tone(220, seconds=1.25))
    b = write_audio("b.wav", tone(440, seconds=0.6))
    records = [Record(str(b), "x", "gb", "train"), Record(str(a), "y", "ga", "valid")]
    fs = sets_module.MeanStd()
    result = compute_features(records, fs, Windowing(window=0.5, hop=0.25), cache_dir=cache)
    t = result.table
    assert t.column_names == [*META_COLUMNS, "mean", "std", "peak"]
    # b: one 0.5 s window; a: windows at 0, .25, .5, .75
    assert t["path"].to_pylist() == [str(b)] + [str(a)] * 4
    # (hops and windows are whole samples: 0.25 s is 5512 samples at 22050 Hz)
    assert t["start"].to_pylist() == pytest.approx([0.0, 0.0, 0.25, 0.5, 0.75], abs=1e-4)
    assert t["end"].to_pylist() == pytest.approx([0.5, 0.5, 0.75, 1.0, 1.25], abs=1e-4)
    assert t["label"].to_pylist() == ["x"] + ["y"] * 4
    assert t["split"].to_pylist() == ["train"] + ["valid"] * 4
    assert t["group"].to_pylist() == ["gb"] + ["ga"] * 4
    assert t["file_hash"].to_pylist() == [file_hash(b)] + [file_hash(a)] * 4
    assert t.schema.field("mean").type == "float"

    out = write_table(result, tmp_path / "w.parquet")
    meta = read_metadata(out)
    assert meta["feature_set"] == fs.config()
    assert meta["windowing"] == {"window": 0.5, "hop": 0.25, "min_fraction": 0.5}
    assert meta["config_key"] == config_key(fs, Windowing(window=0.5, hop=0.25))
    assert [c["name"] for c in meta["feature_columns"]] == ["mean", "std", "peak"]
    assert "genrekit_version" in meta
    valid = read_table(out, split="valid")
    assert valid.X.shape == (4, 3) and valid.X.dtype == np.float32
    assert set(valid.splits) == {"valid"}
    row = valid.rows()[1]
    assert row == {"path": str(a), "label": "y", "split": "valid", "group": "ga", "start": row["start"], "end": row["end"]}
    assert (row["start"], row["end"]) == pytest.approx((0.25, 0.75), abs=1e-4)
    assert len(valid.select(valid.starts > 0.4)) == 2


def test_too_short_file_and_nonfinite_features_are_failures(tmp_path, write_audio, cache, sets_module):
    short = write_audio("short.wav", tone(220, seconds=0.1))
    ok = write_audio("ok.wav", tone(220, seconds=1.0))
    records = [Record(str(short), None, "s"), Record(str(ok), None, "o")]
    result = compute_features(records, sets_module.MeanStd(), Windowing(window=0.5), cache_dir=cache)
    assert [f.error for f in result.failures] == ["AudioTooShortError"]
    assert result.n_rows == 2

    nan = compute_features([records[1]], sets_module.NaNs(), cache_dir=cache)
    assert [f.error for f in nan.failures] == ["NonFiniteFeaturesError"]
    assert "mean" in nan.failures[0].message and nan.n_rows == 0


def test_missing_file_is_a_failure_not_a_crash(tmp_path, cache, sets_module):
    result = compute_features([Record(str(tmp_path / "gone.wav"), None, "g")], sets_module.MeanStd(), cache_dir=cache)
    assert [f.error for f in result.failures] == ["AudioNotFoundError"]
    assert result.table.num_rows == 0 and result.table.num_columns == len(META_COLUMNS) + 3


# --------------------------------------------------------------------------- cache


def test_rerun_uses_the_cache_and_the_index(tmp_path, write_audio, cache, sets_module, monkeypatch):
    make_good(write_audio, 5)
    records = load_dataset(tmp_path / "lib")
    first = compute_features(records, sets_module.MeanStd(), cache_dir=cache)
    assert (first.computed, first.cached) == (5, 0)

    import genrekit.store as store

    hashed = []
    monkeypatch.setattr(store, "file_hash", lambda p: hashed.append(p) or file_hash(p))
    fs = sets_module.MeanStd()
    second = compute_features(records, fs, cache_dir=cache)
    assert (second.computed, second.cached, fs.calls) == (0, 5, 0)
    assert hashed == []  # path, size and mtime unchanged: no byte was read again
    assert second.table.equals(first.table)

    # a touched but identical file is hashed again, and found in the cache
    os.utime(records[0].path, ns=(1, 1))
    third = compute_features(records, fs, cache_dir=cache)
    assert (third.computed, third.cached, fs.calls) == (0, 5, 0)
    assert hashed == [records[0].path]


def test_changing_one_file_recomputes_only_that_file(tmp_path, write_audio, cache, sets_module):
    paths = make_good(write_audio, 5)
    records = load_dataset(tmp_path / "lib")
    before = compute_features(records, sets_module.MeanStd(), cache_dir=cache)
    write_audio(str(paths[2].relative_to(tmp_path)), tone(999, amp=0.9))
    fs = sets_module.MeanStd()
    after = compute_features(records, fs, cache_dir=cache)
    assert (after.computed, after.cached, fs.calls) == (1, 4, 1)
    changed = [i for i, (x, y) in enumerate(zip(before.table["peak"].to_pylist(), after.table["peak"].to_pylist())) if x != y]
    assert [after.table["path"][i].as_py() for i in changed] == [str(paths[2])]


def test_options_and_windowing_change_the_key(tmp_path, write_audio, cache, sets_module):
    make_good(write_audio, 3)
    records = load_dataset(tmp_path / "lib")
    base = sets_module.MeanStd()
    assert config_key(base, Windowing()) != config_key(sets_module.MeanStd(scale=2.0), Windowing())
    assert config_key(base, Windowing()) != config_key(base, Windowing(window=0.5))
    assert config_key(base, Windowing()) == config_key(sets_module.MeanStd(delay=1.0), Windowing())
    compute_features(records, base, cache_dir=cache)
    scaled = sets_module.MeanStd(scale=2.0)
    r = compute_features(records, scaled, cache_dir=cache)
    assert (r.computed, r.cached, scaled.calls) == (3, 0, 3)
    np.testing.assert_allclose(
        np.array(r.table["std"].to_pylist()),
        2 * np.array(compute_features(records, base, cache_dir=cache).table["std"].to_pylist()),
        rtol=1e-6,
    )


def test_same_content_at_two_paths_is_computed_once(tmp_path, write_audio, cache, sets_module):
    a = write_audio("a.wav", tone(220))
    b = tmp_path / "copy.wav"
    b.write_bytes(a.read_bytes())
    fs = sets_module.MeanStd()
    r = compute_features([Record(str(a), "x", "a"), Record(str(b), "y", "b")], fs, cache_dir=cache)
    assert (r.computed, r.cached, fs.calls, r.n_rows) == (1, 1, 1, 2)
    assert r.table["file_hash"][0] == r.table["file_hash"][1]


def test_corrupt_cache_entry_is_recomputed(tmp_path, write_audio, cache, sets_module):
    a = write_audio("a.wav", tone(220))
    records = [Record(str(a), None, "a")]
    compute_features(records, sets_module.MeanStd(), cache_dir=cache)
    (entry,) = cache.glob("features/*/*/*.npy")
    entry.write_bytes(b"garbage")
    fs = sets_module.MeanStd()
    r = compute_features(records, fs, cache_dir=cache)
    assert (r.computed, r.cached, fs.calls) == (1, 0, 1)
    assert np.load(entry, allow_pickle=False).shape == (1, 5)


def test_no_cache_leaves_nothing_behind(tmp_path, write_audio, sets_module):
    a = write_audio("a.wav", tone(220))
    r = compute_features([Record(str(a), None, "a")], sets_module.MeanStd(), cache_dir=tmp_path / "c", use_cache=False)
    assert r.computed == 1 and not (tmp_path / "c").exists()


def test_default_cache_dir_follows_the_environment(tmp_path, write_audio, sets_module, monkeypatch):
    monkeypatch.setenv("GENREKIT_CACHE", str(tmp_path / "envcache"))
    a = write_audio("a.wav", tone(220))
    compute_features([Record(str(a), None, "a")], sets_module.MeanStd())
    assert n_cached(tmp_path / "envcache") == 1


# --------------------------------------------------------------------------- interruption


def test_interrupted_run_resumes_without_recomputing(tmp_path, write_audio, cache, sets_module):
    make_good(write_audio, 20)
    records = load_dataset(tmp_path / "lib")
    with pytest.raises(KeyboardInterrupt):
        compute_features(records, sets_module.MeanStd(fail_after=7), cache_dir=cache)
    assert n_cached(cache) == 7
    assert not list(cache.rglob("*.tmp"))
    fs = sets_module.MeanStd()
    r = compute_features(records, fs, cache_dir=cache)
    assert (r.computed, r.cached, r.failed, fs.calls) == (13, 7, 0, 13)
    assert r.n_rows == 20


def test_killed_process_resumes(tmp_path, write_audio, cache, sets_module):
    make_good(write_audio, 12)
    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(Path(sets_module.__file__).parent)!r})
            from genrekit_store_testsets import MeanStd
            from genrekit.datasets import load_dataset
            from genrekit.store import compute_features
            print("start", flush=True)
            compute_features(load_dataset({str(tmp_path / "lib")!r}), MeanStd(delay=0.25), cache_dir={str(cache)!r})
            print("finished", flush=True)
            """
        )
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while n_cached(cache) < 4 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        out, _ = proc.communicate(timeout=30)
    assert "finished" not in out
    done = n_cached(cache)
    assert 4 <= done < 12
    fs = sets_module.MeanStd()
    r = compute_features(load_dataset(tmp_path / "lib"), fs, cache_dir=cache)
    assert (r.computed, r.cached, fs.calls) == (12 - done, done, 12 - done)


# --------------------------------------------------------------------------- parallel and progress


def test_parallel_spawn_matches_serial_and_reports_progress(tmp_path, write_audio, cache, sets_module):
    make_good(write_audio, 6)
    make_broken(tmp_path, write_audio)
    records = load_dataset(tmp_path / "lib")
    events = []
    par = compute_features(records, sets_module.MeanStd(), cache_dir=cache, jobs=2, progress=events.append)
    ser = compute_features(records, sets_module.MeanStd(), use_cache=False)
    assert par.table.equals(ser.table)
    assert (par.computed, par.failed) == (6, 3)
    assert sorted(f.path for f in par.failures) == sorted(f.path for f in ser.failures)
    assert n_cached(cache) == 6
    assert [e.done for e in events] == list(range(1, 10))
    assert {e.total for e in events} == {9}
    assert (events[-1].computed, events[-1].cached, events[-1].failed) == (6, 0, 3)
    assert {e.status for e in events} == {"computed", "failed"}


def test_a_worker_crash_fails_only_its_file(tmp_path, write_audio, cache, sets_module):
    make_good(write_audio, 5)
    killer = write_audio("lib/low/killer.wav", tone(500, seconds=1.3))
    records = load_dataset(tmp_path / "lib")
    r = compute_features(records, sets_module.Crashy(), cache_dir=cache, jobs=2)
    assert [(f.path, f.error) for f in r.failures] == [(str(killer), "WorkerCrashed")]
    assert (r.computed + r.cached, r.n_rows) == (5, 5)
    assert n_cached(cache) == 5


def test_jobs_must_be_positive(sets_module):
    with pytest.raises(ValueError, match="jobs"):
        compute_features([], sets_module.MeanStd(), jobs=0)


# --------------------------------------------------------------------------- files


def test_failures_file_is_removed_once_all_files_work(tmp_path, write_audio, cache, sets_module):
    a = write_audio("a.wav", tone(220))
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    out = tmp_path / "t.parquet"
    r = compute_features([Record(str(a), None, "a"), Record(str(bad), None, "b")], sets_module.MeanStd(), cache_dir=cache)
    write_table(r, out)
    assert failures_path(out) == tmp_path / "t.failures.parquet" and failures_path(out).exists()
    r = compute_features([Record(str(a), None, "a")], sets_module.MeanStd(), cache_dir=cache)
    write_table(r, out)
    assert not failures_path(out).exists() and read_failures(out) == []


def test_read_table_rejects_foreign_files(tmp_path):
    import pyarrow as pa

    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"x": [1.0]}), plain)
    with pytest.raises(FeatureTableError, match="not a genrekit feature table"):
        read_table(plain)
    with pytest.raises(FeatureTableError, match="no such feature table"):
        read_table(tmp_path / "missing.parquet")
    (tmp_path / "junk.parquet").write_bytes(b"junk")
    with pytest.raises(FeatureTableError, match="not a readable Parquet"):
        read_table(tmp_path / "junk.parquet")


# --------------------------------------------------------------------------- the index's cheap check


@pytest.mark.parametrize("rewrite", ["middle_in_place", "whole_file"])
def test_rewrite_with_same_size_and_restored_mtime_is_recomputed(tmp_path, write_audio, cache, sets_module,
                                                                 monkeypatch, rewrite):
    import genrekit.store as store
    from genrekit.store import edge_digest

    a = write_audio("a.wav", tone(220, seconds=5.0, amp=0.2))  # 220 kB: more than the two 64 KiB edges
    b = write_audio("b.wav", tone(330, seconds=1.0))
    records = [Record(str(a), None, "a"), Record(str(b), None, "b")]
    first = compute_features(records, sets_module.MeanStd(), cache_dir=cache)
    assert first.computed == 2

    before = os.stat(a)
    edges = edge_digest(a)
    if rewrite == "middle_in_place":  # the most hostile case: same inode, size, mtime, head and tail
        with open(a, "r+b") as f:
            f.seek(100_000)
            f.write(b"\x00\x40" * 5000)  # 5000 samples of 0.5 in the middle of the data
        assert edge_digest(a) == edges
    else:
        write_audio("a.wav", tone(880, seconds=5.0, amp=0.6))
    os.utime(a, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(a)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)

    hashed = []
    monkeypatch.setattr(store, "file_hash", lambda p: hashed.append(p) or file_hash(p))
    fs = sets_module.MeanStd()
    second = compute_features(records, fs, cache_dir=cache)
    assert (second.computed, second.cached, fs.calls) == (1, 1, 1)
    assert hashed == [str(a)]  # the unchanged file was found through the index, without reading it all
    fresh = compute_features([records[0]], sets_module.MeanStd(), use_cache=False)
    assert second.table.slice(0, 1).equals(fresh.table)
    assert second.table["peak"][0].as_py() == pytest.approx(0.5 if rewrite == "middle_in_place" else 0.6, abs=1e-3)
    assert second.table["file_hash"][0].as_py() == file_hash(a) != first.table["file_hash"][0].as_py()

    # and once re-hashed, the file is found through the index again
    hashed.clear()
    third = compute_features(records, sets_module.MeanStd(), cache_dir=cache)
    assert (third.computed, third.cached, hashed) == (0, 2, [])


def test_an_index_of_the_old_layout_is_not_trusted(tmp_path, write_audio, cache, sets_module):
    import sqlite3

    a = write_audio("a.wav", tone(220))
    b = write_audio("b.wav", tone(1760, amp=0.9))
    compute_features([Record(str(b), None, "b")], sets_module.MeanStd(), cache_dir=cache)
    db = cache / "file-index.sqlite3"
    # what earlier versions kept: (path, size, mtime_ns) -> hash; here a wrong hash, that of b
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE files (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, hash TEXT)")
    st = os.stat(a)
    con.execute("INSERT INTO files VALUES (?, ?, ?, ?)", (str(a), st.st_size, st.st_mtime_ns, file_hash(b)))
    con.commit()
    con.close()

    r = compute_features([Record(str(a), None, "a")], sets_module.MeanStd(), cache_dir=cache)
    assert (r.computed, r.cached) == (1, 0)
    assert r.table["file_hash"][0].as_py() == file_hash(a)
    assert r.table["peak"][0].as_py() == pytest.approx(0.5, abs=1e-3)
    con = sqlite3.connect(db)
    tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    con.close()
    assert "files" not in tables


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_output_files_follow_the_umask(tmp_path, write_audio, cache, sets_module, umask, mode):
    a = write_audio("a.wav", tone(220))
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    old = os.umask(umask)
    try:
        r = compute_features([Record(str(a), None, "a"), Record(str(bad), None, "b")], sets_module.MeanStd(),
                             cache_dir=cache)
        out = write_table(r, tmp_path / "t.parquet")
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == mode
    assert failures_path(out).stat().st_mode & 0o777 == mode
    (entry,) = cache.glob("features/*/*/*.npy")
    assert entry.stat().st_mode & 0o777 == mode
    assert not list(tmp_path.rglob("*.tmp"))
