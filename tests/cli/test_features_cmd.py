"""``genrekit features``: tables, summaries, failures and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from genrekit.cli import app
from genrekit.store import failures_path, read_failures, read_metadata, read_table

SR = 22050
runner = CliRunner()


def tone(freq: float, seconds: float = 1.0, amp: float = 0.4) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def library(tmp_path: Path, write_audio) -> dict:
    """20 good one-second files in two genre folders (wav/flac/ogg/mp3) and 3 broken ones."""
    exts = ["wav", "flac", "ogg", "mp3"]
    good = []
    for i in range(20):
        genre = "low" if i % 2 == 0 else "high"
        good.append(write_audio(f"lib/{genre}/t{i:02d}.{exts[i % 4]}", tone((200 if genre == "low" else 2000) + 10 * i)))
    mp3 = write_audio("lib/low/cut.mp3", tone(300, seconds=2.0))
    mp3.write_bytes(mp3.read_bytes()[: mp3.stat().st_size // 2])
    (tmp_path / "lib" / "high" / "noise.wav").write_bytes(np.random.default_rng(1).bytes(4000))
    (tmp_path / "lib" / "high" / "empty.wav").write_bytes(b"")
    # random bytes may pass for an MP3 stream at first sight: then they are corrupt rather than unsupported
    broken = {"cut.mp3": {"CorruptAudioError"}, "noise.wav": {"UnsupportedAudioError", "CorruptAudioError"}, "empty.wav": {"EmptyAudioError"}}
    return {"root": tmp_path / "lib", "good": good, "broken": broken}


def invoke(*args: str):
    return runner.invoke(app, ["features", *map(str, args)])


def test_twenty_good_three_broken_exits_nonzero_and_lists_errors(library, tmp_path, test_sets):
    out = tmp_path / "f.parquet"
    result = invoke(library["root"], "--set", test_sets.name, "--out", out, "-q")
    assert result.exit_code == 1, result.output
    table = pq.read_table(out)
    assert table.num_rows == 20
    assert sorted(table["path"].to_pylist()) == sorted(str(p) for p in library["good"])
    assert sorted(set(table["label"].to_pylist())) == ["high", "low"]
    for name, errors in library["broken"].items():
        line = next(ln for ln in result.stdout.splitlines() if name in ln)
        assert any(e in line for e in errors), line
    assert "3 failed" in result.stdout and "20 computed" in result.stdout
    failures = {Path(f.path).name: f.error for f in read_failures(out)}
    assert failures.keys() == library["broken"].keys()
    assert all(failures[k] in library["broken"][k] for k in failures)
    assert test_sets.calls == 20


def test_json_summary_and_incremental_rerun(library, tmp_path, test_sets, isolated_cache):
    out = tmp_path / "f.parquet"
    args = (library["root"], "--set", test_sets.name, "--out", out, "--json", "--window", "0.5")
    first = invoke(*args)
    assert first.exit_code == 1
    s = json.loads(first.stdout)
    assert (s["files"], s["computed"], s["cached"], s["failed"], s["rows"], s["columns"]) == (23, 20, 0, 3, 40, 2)
    assert s["output"] == str(out) and s["failures_file"] == str(failures_path(out))
    failures = {Path(f["path"]).name: f["error"] for f in s["failures"]}
    assert failures.keys() == library["broken"].keys()
    assert all(failures[k] in library["broken"][k] for k in failures)
    assert s["labels"] == {"high": 12, "low": 11}  # files found, broken ones included
    assert s["windowing"] == {"window": 0.5, "hop": 0.5}
    assert isolated_cache.is_dir()  # GENREKIT_CACHE was used

    test_sets.calls = 0
    second = json.loads(invoke(*args).stdout)
    assert (second["computed"], second["cached"], second["failed"], second["rows"]) == (0, 20, 3, 40)
    assert test_sets.calls == 0


def test_all_good_exits_zero_with_defaults(tmp_path, write_audio, test_sets, monkeypatch):
    from genrekit.features import registry

    monkeypatch.setitem(registry._REGISTRY, "default", test_sets)  # the default set, whatever it is, is slow
    for i in range(3):
        write_audio(f"in/s{i}.wav", tone(300 + 100 * i))
    monkeypatch.chdir(tmp_path)
    result = invoke(tmp_path / "in", "-j", "1", "--cache-dir", tmp_path / "c")
    assert result.exit_code == 0, result.output
    m = read_table(tmp_path / "features.parquet")
    assert m.X.shape == (3, 2) and list(m.labels) == [None, None, None]
    assert read_metadata(tmp_path / "features.parquet")["feature_set"]["name"] == test_sets.name
    assert not failures_path(tmp_path / "features.parquet").exists()
    assert len(list((tmp_path / "c").glob("features/*/*/*.npy"))) == 3
    assert "failed" in result.stdout and "3 computed" in result.stdout


def test_interrupted_run_exits_130_and_the_rerun_resumes(tmp_path, write_audio, test_sets):
    for i in range(8):
        write_audio(f"in/s{i}.wav", tone(300 + 50 * i))
    args = (tmp_path / "in", "--set", test_sets.name, "--out", tmp_path / "o.parquet", "--json")
    test_sets.fail_after = 3
    stopped = invoke(*args)
    assert stopped.exit_code == 130
    assert "run the same command again to resume" in stopped.stderr
    assert not (tmp_path / "o.parquet").exists()
    test_sets.fail_after = None
    test_sets.calls = 0
    resumed = json.loads(invoke(*args).stdout)
    assert (resumed["computed"], resumed["cached"], test_sets.calls) == (5, 3, 5)


def test_no_hpss_is_passed_to_sets_that_take_it(tmp_path, write_audio, test_sets):
    a = write_audio("a.wav", tone(440))
    out = tmp_path / "h.parquet"
    ok = invoke(a, "--set", "test-cli-hpss", "--no-hpss", "--out", out, "-q")
    assert ok.exit_code == 0, ok.output
    assert read_metadata(out)["feature_set"]["options"] == {"hpss": False}
    bad = invoke(a, "--set", test_sets.name, "--no-hpss", "--out", out)
    assert bad.exit_code == 2
    assert "--no-hpss applies only to feature sets with an HPSS step" in bad.stderr


def test_list_shows_columns_and_meanings(test_sets):
    human = invoke("--list", "--set", test_sets.name)
    assert human.exit_code == 0
    assert "mean" in human.stdout and "standard deviation of the samples" in human.stdout
    data = json.loads(invoke("--list", "--json").stdout)
    mine = next(s for s in data["sets"] if s["name"] == test_sets.name)
    assert mine["columns"] == [
        {"name": "mean", "description": "mean sample value"},
        {"name": "std", "description": "standard deviation of the samples"},
    ]
    assert mine["options"] == {"scale": 1.0}
    assert {"test-cli-hpss", test_sets.name} <= {s["name"] for s in data["sets"]}


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "give at least one SOURCE"),
        (["{a}", "--set", "no-such-set"], "unknown feature set 'no-such-set'"),
        (["{a}", "--hop", "1"], "--hop needs --window"),
        (["{a}", "--window", "-1"], "window must be > 0"),
        (["{tmp}/missing-folder"], "no such file or folder"),
        (["{tmp}/bad.csv"], "no 'path' column"),
        (["{a}", "--layout", "weird"], "'weird' is not one of"),
    ],
)
def test_usage_errors_exit_2(tmp_path, write_audio, test_sets, args, message):
    a = write_audio("a.wav", tone(440))
    (tmp_path / "bad.csv").write_text("file,label\na.wav,x\n")
    args = [x.format(a=a, tmp=tmp_path) for x in args]
    if "--set" not in args:
        args += ["--set", test_sets.name]
    result = invoke(*args, "--out", tmp_path / "x.parquet")
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert not (tmp_path / "x.parquet").exists()


def test_manifest_source_carries_labels_and_splits(tmp_path, write_audio, test_sets):
    write_audio("m/a.wav", tone(440))
    write_audio("m/b.wav", tone(880))
    (tmp_path / "m" / "list.csv").write_text("path,label,split,group\na.wav,rock,train,art1\nb.wav,jazz,test,art2\n")
    out = tmp_path / "m.parquet"
    result = invoke(tmp_path / "m" / "list.csv", "--set", test_sets.name, "--out", out, "-q")
    assert result.exit_code == 0, result.output
    m = read_table(out)
    assert list(zip(m.labels, m.splits, m.groups)) == [("rock", "train", "art1"), ("jazz", "test", "art2")]


def test_examples_names_the_bundled_recordings(tmp_path, test_sets, monkeypatch, examples_dir):
    monkeypatch.chdir(tmp_path)  # no ./examples here
    result = invoke("examples", "--set", test_sets.name, "--json", "-q", "--no-cache")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    expected = sorted(p.name for p in examples_dir.iterdir() if p.suffix in {".ogg", ".mp3"})
    assert summary["files"] == summary["computed"] == len(expected) == 4
    assert sorted(Path(p).name for p in read_table(tmp_path / "features.parquet").paths) == expected
