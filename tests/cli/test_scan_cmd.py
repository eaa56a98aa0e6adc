"""``genrekit scan``: exit codes, the summary, exports, and a scan killed with SIGKILL that resumes."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "library"))  # libsynth, shared with tests/library

from genrekit.library.db import LibraryDB  # noqa: E402
from genrekit.library.scan import scan_library  # noqa: E402
from libsynth import m4a_supported, make_library  # noqa: E402


def comparable(db_path: Path) -> list[dict]:
    with LibraryDB(db_path) as db:
        return [{k: v for k, v in vars(r).items() if k not in ("classified_at", "scanned_at")} for r in db.rows()]


def test_scan_prints_genres_and_failures_and_exits_1(cli, tiny_model: Path, tmp_path: Path):
    make_library(tmp_path / "music", 6, broken=1)
    db = tmp_path / "lib.sqlite"
    result = cli("scan", tmp_path / "music", "--db", db, "-m", tiny_model)
    assert result.exit_code == 1
    assert "tones" in result.stdout and "noise" in result.stdout and "5 classified" in result.stdout
    assert "bad0.mp3" in result.stderr

    again = cli("scan", tmp_path / "music", "--db", db, "-m", tiny_model, "--json")
    summary = json.loads(again.stdout)
    assert again.exit_code == 1
    assert (summary["classified"], summary["unchanged"], summary["failed"]) == (0, 5, 1)
    assert [Path(f["path"]).name for f in summary["failures"]] == ["bad0.mp3"]


def test_export_writes_the_table_without_scanning(cli, tiny_model: Path, tmp_path: Path):
    make_library(tmp_path / "music", 3, broken=0)
    db = tmp_path / "lib.sqlite"
    assert cli("scan", tmp_path / "music", "--db", db, "-m", tiny_model, "-q").exit_code == 0
    result = cli("scan", "--db", db, "--export", tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all(set(r) >= {"path", "genre", "confidence", "probabilities"} for r in rows)

    missing = cli("scan", "--db", tmp_path / "absent.sqlite", "--export", tmp_path / "x.csv")
    assert missing.exit_code == 2 and "not found" in missing.stderr
    assert not (tmp_path / "absent.sqlite").exists()
    assert cli("scan", "--db", db).exit_code == 2
    assert cli("scan", "--db", db, "--export", tmp_path / "x.txt").exit_code == 2


def test_a_bad_model_is_a_usage_error(cli, tmp_path: Path):
    make_library(tmp_path / "music", 2, broken=0)
    (tmp_path / "bad.genre").write_bytes(b"nope")
    result = cli("scan", tmp_path / "music", "--db", tmp_path / "lib.sqlite", "-m", tmp_path / "bad.genre")
    assert result.exit_code == 2 and "bad.genre" in result.stderr


def test_a_scan_killed_halfway_resumes_to_the_same_database(cli, tiny_model: Path, tmp_path: Path):
    library = tmp_path / "music"
    make_library(library, 200, m4a=10 if m4a_supported() else 0, broken=3)
    whole = tmp_path / "whole.sqlite"
    with LibraryDB(whole) as db:
        scan_library([library], db, tiny_model)

    killed = tmp_path / "killed.sqlite"
    process = subprocess.Popen([sys.executable, "-c", "from genrekit.cli import main; main()", "scan", str(library),
                                "--db", str(killed), "-m", str(tiny_model), "-q"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = 0
    try:
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            if killed.exists():
                try:
                    with sqlite3.connect(f"file:{killed}?mode=ro", uri=True, timeout=1) as con:
                        rows = con.execute("SELECT count(*) FROM files").fetchone()[0]
                except sqlite3.Error:
                    rows = 0
                if rows >= 100:
                    break
            time.sleep(0.02)
        still_running = process.poll() is None
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert still_running, "the scan finished before it could be killed"
    assert 100 <= rows < 200

    result = cli("scan", library, "--db", killed, "-m", tiny_model, "--json")
    summary = json.loads(result.stdout)
    assert result.exit_code == 1 and summary["unchanged"] + summary["failed"] >= 100
    assert summary["classified"] <= 100  # only what the killed scan had not finished
    assert sum(summary[s] for s in ("classified", "unchanged", "copied", "moved", "rehashed")) == 197
    assert comparable(killed) == comparable(whole)
