"""scan_library: the 200-file acceptance library, incremental rescans, moves, deletions, exports."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import pytest

from genrekit.library import scan as scan_module
from genrekit.library.db import SCHEMA_VERSION, LibraryDatabaseError, LibraryDB
from genrekit.library.export import export_table
from genrekit.library.scan import scan_library
from libsynth import clip, m4a_supported, make_library, write_clip

TIMESTAMPS = {"classified_at", "scanned_at"}


def comparable(db: LibraryDB) -> list[dict]:
    """Every row without its timestamps: what two scans of the same files must agree on."""
    return [{k: v for k, v in vars(row).items() if k not in TIMESTAMPS} for row in db.rows()]


@pytest.fixture
def count_classified(monkeypatch: pytest.MonkeyPatch) -> list:
    """Every path handed to the classifier during the test (scan's only way to decode a file)."""
    seen: list = []
    real = scan_module.classify_files

    def counting(paths, *args, **kwargs):
        paths = list(paths)
        seen.extend(paths)
        return real(paths, *args, **kwargs)

    monkeypatch.setattr(scan_module, "classify_files", counting)
    return seen


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("music")
    make_library(root, 200, m4a=10 if m4a_supported() else 0, broken=3)
    return root


def test_a_200_file_library_gives_197_results_and_3_named_failures_then_a_rescan_decodes_nothing(
        library: Path, tiny_model: Path, tmp_path: Path, count_classified: list):
    with LibraryDB(tmp_path / "lib.sqlite") as db:
        first = scan_library([library], db, tiny_model)
        assert first.counts["classified"] == 197 and first.counts["failed"] == 3
        assert sorted(Path(p).name for p, _ in first.failures) == ["bad0.mp3", "bad1.flac", "bad2.ogg"]
        assert all(Path(p).name in e for p, e in first.failures)
        assert sum(first.genres.values()) == 197 and set(first.genres) == {"noise", "tones"}
        assert len(count_classified) == 200
        rows = comparable(db)

        count_classified.clear()
        second = scan_library([library], db, tiny_model)
        assert count_classified == []
        assert second.counts["unchanged"] == 197 and second.counts["failed"] == 3
        assert comparable(db) == rows
    if not m4a_supported():
        pytest.skip("genrekit.audio does not decode m4a yet: the library held no m4a files")


def test_rows_hold_results_and_errors(library: Path, tiny_model: Path, tmp_path: Path):
    with LibraryDB(tmp_path / "lib.sqlite") as db:
        scan_library([library], db, tiny_model)
        tone = db.get(next(library.rglob("track011.*")))
        assert tone.genre == "tones" and tone.error is None
        probabilities = json.loads(tone.probabilities)
        assert list(probabilities) == ["tones", "noise"] and tone.confidence == probabilities["tones"]
        assert tone.duration == pytest.approx(1.2, abs=0.01) and len(tone.model) == 64 and len(tone.hash) == 32
        bad = db.get(library / "broken" / "bad0.mp3")
        assert bad.genre is None and "bad0.mp3" in bad.error
        assert db.con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_moved_file_keeps_its_row_a_touched_file_is_not_decoded_and_a_deleted_one_is_dropped(
        tiny_model: Path, tmp_path: Path, count_classified: list):
    root = tmp_path / "music"
    paths = make_library(root, 6, broken=0)
    with LibraryDB(tmp_path / "lib.sqlite") as db:
        scan_library([root], db, tiny_model)
        old = db.get(paths[0])
        new_name = root / "renamed" / "moved.mp3"
        new_name.parent.mkdir()
        os.rename(paths[0], new_name)
        os.utime(paths[1])  # same content, new mtime: hashed again, not decoded
        paths[2].unlink()
        count_classified.clear()

        summary = scan_library([root], db, tiny_model)

        assert count_classified == []
        assert (summary.counts["moved"], summary.counts["rehashed"], summary.removed) == (1, 1, 1)
        moved = db.get(new_name)
        assert (moved.hash, moved.genre, moved.probabilities) == (old.hash, old.genre, old.probabilities)
        assert db.get(paths[0]) is None and db.get(paths[2]) is None and db.count() == 5


def test_a_changed_file_or_another_model_is_classified_again(tiny_model: Path, tmp_path: Path,
                                                              count_classified: list):
    from trained import train_tiny_model

    root = tmp_path / "music"
    paths = make_library(root, 3, broken=0)
    with LibraryDB(tmp_path / "lib.sqlite") as db:
        scan_library([root], db, tiny_model)
        write_clip(paths[0], clip(1, 1.5))
        count_classified.clear()
        scan_library([root], db, tiny_model)
        assert count_classified == [paths[0]]

        other = train_tiny_model(tmp_path / "other", tmp_path / "other.genre", "rf")
        count_classified.clear()
        summary = scan_library([root], db, other)
        assert sorted(count_classified) == sorted(paths) and summary.counts["classified"] == 3


def test_scanning_one_folder_keeps_the_rows_of_another(tiny_model: Path, tmp_path: Path):
    a, b = make_library(tmp_path / "a", 2, broken=0), make_library(tmp_path / "b", 2, broken=0)
    with LibraryDB(tmp_path / "lib.sqlite") as db:
        scan_library([tmp_path / "a", tmp_path / "b"], db, tiny_model)
        summary = scan_library([tmp_path / "a"], db, tiny_model)
        assert summary.removed == 0 and db.count() == 4 and db.get(b[0]) is not None and db.get(a[1]) is not None


def test_a_name_that_is_not_utf8_survives_scan_and_export(tiny_model: Path, tmp_path: Path):
    root = tmp_path / "music"
    plain = write_clip(root / "plain.wav", clip(1, 1.5))
    path = root / os.fsdecode(b"caf\xe9-\xff.wav")
    try:
        os.rename(plain, path)
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    with LibraryDB(tmp_path / "lib.sqlite") as db:
        summary = scan_library([root], db, tiny_model)
        assert summary.counts["classified"] == 1
        row = db.get(path)
        assert row.file == path and row.file.exists() and row.path.endswith("caf\\xe9-\\xff.wav")
        assert export_table(db, tmp_path / "out.jsonl") == 1
        assert json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8"))["path"] == row.path
        assert scan_library([root], db, tiny_model).counts["unchanged"] == 1


def test_exports_round_trip(tiny_model: Path, tmp_path: Path):
    import pyarrow.parquet as pq

    root = tmp_path / "music"
    make_library(root, 5, broken=1)
    with LibraryDB(tmp_path / "lib.sqlite") as db:
        scan_library([root], db, tiny_model)
        expected = {r.path: r for r in db.rows()}
        for ending in ("jsonl", "csv", "parquet"):
            assert export_table(db, tmp_path / f"out.{ending}") == 5
        with pytest.raises(Exception, match="export format"):
            export_table(db, tmp_path / "out.xlsx")

    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as f:
        csv_rows = list(csv.DictReader(f))
    parquet_rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    for got in lines, csv_rows, parquet_rows:
        assert sorted(r["path"] for r in got) == sorted(expected)
    for line, row, prow in zip(lines, csv_rows, parquet_rows):
        want = expected[line["path"]]
        assert line["genre"] == want.genre and line["confidence"] == want.confidence
        assert line["probabilities"] == want.probabilities_dict()
        assert ("error" in line) == (want.error is not None) and line.get("error") == want.error
        want = expected[row["path"]]
        assert row["genre"] == (want.genre or "") and json.loads(row["probabilities"]) == want.probabilities_dict()
        want = expected[prow["path"]]
        assert prow["genre"] == want.genre and dict(prow["probabilities"]) == want.probabilities_dict()
        assert prow["error"] == want.error


def test_the_database_refuses_foreign_and_future_files(tmp_path: Path):
    import sqlite3

    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as con:
        con.execute("CREATE TABLE t (x)")
    with pytest.raises(LibraryDatabaseError, match="not a genrekit library"):
        LibraryDB(foreign)
    future = tmp_path / "future.sqlite"
    LibraryDB(future).close()
    with sqlite3.connect(future) as con:
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(LibraryDatabaseError, match="newer genrekit"):
        LibraryDB(future)
    with pytest.raises(LibraryDatabaseError, match="not found"):
        LibraryDB(tmp_path / "absent.sqlite", create=False)
    (tmp_path / "junk.sqlite").write_bytes(b"junk" * 1000)
    with pytest.raises(LibraryDatabaseError):
        LibraryDB(tmp_path / "junk.sqlite")
