"""Planning, safe writing, verifying, journaling and undoing genre tags."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from genrekit.audio import load_audio, probe
from genrekit.library import tagging
from genrekit.library.db import LibraryDB
from genrekit.library.tagfiles import FileTags, Provenance, read_tags
from genrekit.library.tagging import Classified, TagOptions, TagPlan, plan_tag, undo_writes, write_planned
from libsynth import clip, m4a_supported, write_clip
from test_tagfiles import human_tags

VERDICT = Classified({"rock": 0.7, "pop": 0.2, "jazz": 0.1}, "cd" * 32)


def samples(path: Path) -> np.ndarray:
    return load_audio(path, probe(path).sample_rate)


def planned(path: Path, options: TagOptions = TagOptions()) -> TagPlan:
    return plan_tag(path, read_tags(path), VERDICT, options)


@pytest.mark.parametrize("ending", ("mp3", "wav", "aiff", "flac", "ogg", "m4a"))
def test_a_write_changes_only_the_tags_and_undo_restores_the_file_byte_for_byte(ending: str, tmp_path: Path):
    if ending == "m4a" and not m4a_supported():
        pytest.skip("genrekit.audio does not decode m4a yet, so a write cannot be verified: skipped")
    path = write_clip(tmp_path / f"song.{ending}", clip(3, 2.0))
    if ending == "mp3":
        human_tags(path, [], "An Artist")  # an existing ID3 tag with other frames
    os.chmod(path, 0o640)
    before, audio = path.read_bytes(), samples(path)
    mtime = os.stat(path).st_mtime_ns

    with LibraryDB(tmp_path / "lib.sqlite") as db:
        done = write_planned(planned(path, TagOptions(top=2)), db)
        assert done.action == "written", done.reason
        tags = read_tags(path)
        assert tags.genres == ("rock; pop",) and tags.by_genrekit and tags.provenance.model == VERDICT.model
        assert np.array_equal(samples(path), audio)
        assert os.stat(path).st_mode & 0o777 == 0o640
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".genrekit-tmp")] == []

        undone = undo_writes(db)
        assert [u.action for u in undone] == ["restored"]
        assert path.read_bytes() == before and os.stat(path).st_mtime_ns == mtime
        assert os.stat(path).st_mode & 0o777 == 0o640
        assert undo_writes(db) == []  # marked undone
        assert db.con.execute("SELECT count(*) FROM journal WHERE undone_at IS NOT NULL").fetchone()[0] == 1


def test_two_writes_undo_newest_first_back_to_the_original(tmp_path: Path):
    path = write_clip(tmp_path / "a.flac", clip(5, 1.5))
    original = path.read_bytes()
    with LibraryDB(tmp_path / "lib.sqlite") as db:
        assert write_planned(planned(path), db).action == "written"
        assert write_planned(planned(path, TagOptions(top=3, separator=" / ")), db).action == "written"
        assert read_tags(path).genres == ("rock / pop / jazz",)
        assert [u.action for u in undo_writes(db)] == ["restored", "restored"]
    assert path.read_bytes() == original


def test_plans_keep_a_person_s_genre_unless_overwrite_and_skip_doubtful_verdicts(tmp_path: Path):
    path = Path("x.mp3")
    person = FileTags(genres=("Jazz",), artist=None, album_artist=None, provenance=None)
    ours = FileTags(genres=("pop",), artist=None, album_artist=None,
                    provenance=Provenance("ef" * 32, 0.5, "pop"))
    assert plan_tag(path, person, VERDICT, TagOptions()).action == "skip"
    assert "person" in plan_tag(path, person, VERDICT, TagOptions()).reason
    assert plan_tag(path, person, VERDICT, TagOptions(overwrite=True)).action == "write"
    assert plan_tag(path, ours, VERDICT, TagOptions()).action == "write"
    low = plan_tag(path, ours, VERDICT, TagOptions(min_confidence=0.75))
    assert low.action == "skip" and "0.70" in low.reason
    same = FileTags(genres=("rock",), artist=None, album_artist=None, provenance=Provenance(VERDICT.model, 0.7, "rock"))
    assert plan_tag(path, same, VERDICT, TagOptions()).action == "unchanged"


def test_a_write_that_would_change_the_audio_leaves_the_file_untouched(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch):
    path = write_clip(tmp_path / "a.wav", clip(1, 1.5))
    before = path.read_bytes()
    real = tagging.write_genre

    def damaging(target, genre, provenance):
        real(target, genre, provenance)
        with open(target, "r+b") as f:  # flip a sample in the middle of the audio
            f.seek(len(before) // 2)
            f.write(b"\x7f\x7f")

    monkeypatch.setattr(tagging, "write_genre", damaging)
    with LibraryDB(tmp_path / "lib.sqlite") as db:
        done = write_planned(planned(path), db)
        assert done.action == "failed" and "audio" in done.reason
        assert db.con.execute("SELECT count(*) FROM journal").fetchone()[0] == 0
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".wav") == ["a.wav"]


def test_undo_refuses_a_file_changed_since_and_says_so(tmp_path: Path):
    path = write_clip(tmp_path / "a.ogg", clip(2, 1.5))
    with LibraryDB(tmp_path / "lib.sqlite") as db:
        write_planned(planned(path), db)
        human_tags(path, ["Edited"], "Someone")
        edited = path.read_bytes()
        [result] = undo_writes(db)
        assert result.action == "failed" and "changed since" in result.reason
        assert path.read_bytes() == edited


def test_a_tag_write_keeps_the_scan_row_valid(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from genrekit.library import scan as scan_module
    from genrekit.library.scan import scan_library

    path = write_clip(tmp_path / "music" / "a.flac", clip(1, 1.5))
    with LibraryDB(tmp_path / "lib.sqlite") as db:
        scan_library([tmp_path / "music"], db, tiny_model)
        row = db.get(path)
        write_planned(plan_tag(path, read_tags(path), Classified(row.probabilities_dict(), row.model), TagOptions()), db)
        monkeypatch.setattr(scan_module, "classify_files", lambda *a, **k: pytest.fail("decoded a tagged file"))
        summary = scan_library([tmp_path / "music"], db, tiny_model)
        assert summary.counts["unchanged"] == 1 and db.get(path).genre == row.genre
