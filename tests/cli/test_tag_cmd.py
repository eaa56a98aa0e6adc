"""``genrekit tag``: the dry run, --write, a person's genre kept, --json, and --undo byte for byte."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "library"))  # libsynth, shared with tests/library

from genrekit.audio import load_audio, probe  # noqa: E402
from genrekit.library.tagfiles import read_tags  # noqa: E402
from libsynth import make_library  # noqa: E402


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default journal (no --db) goes to the test's folder, never the user's."""
    monkeypatch.setenv("GENREKIT_DATA", str(tmp_path / "data"))
    return tmp_path / "data"


def snapshot(paths: list[Path]) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in paths}


def test_tag_write_then_undo_restores_every_file_byte_for_byte(cli, tiny_model: Path, tmp_path: Path):
    import mutagen

    files = make_library(tmp_path / "music", 9, broken=1)
    good = files[:-1]
    person = good[1]  # a flac: a person's genre, which must survive
    audio = mutagen.File(person)
    audio.tags["GENRE"] = ["Bebop"]
    audio.save()
    before = snapshot(files)
    samples = {p: load_audio(p, probe(p).sample_rate) for p in good}
    db = tmp_path / "lib.sqlite"

    dry = cli("tag", tmp_path / "music", "--db", db, "-m", tiny_model)
    assert dry.exit_code == 1  # the broken file
    assert "-> tones" in dry.stdout and "-> noise" in dry.stdout and "Bebop" in dry.stdout
    assert snapshot(files) == before

    wrote = cli("tag", tmp_path / "music", "--db", db, "-m", tiny_model, "--write", "--json")
    assert wrote.exit_code == 1
    lines = {Path(x["path"]).name: x for x in map(json.loads, wrote.stdout.splitlines())}
    assert lines[person.name]["action"] == "skip" and lines["bad0.mp3"]["action"] == "failed"
    assert sum(x["action"] == "written" for x in lines.values()) == len(good) - 1
    for path in good:
        tags = read_tags(path)
        if path == person:
            assert tags.genres == ("Bebop",) and path.read_bytes() == before[path]
        else:
            assert tags.genres == (lines[path.name]["new"],) and tags.by_genrekit
            assert tags.genres[0] in ("tones", "noise")
        assert (load_audio(path, probe(path).sample_rate) == samples[path]).all()

    again = cli("tag", tmp_path / "music", "--db", db, "-m", tiny_model, "--write", "--json")
    assert {json.loads(x)["action"] for x in again.stdout.splitlines()} == {"unchanged", "skip", "failed"}

    undone = cli("tag", "--undo", "--db", db)
    assert undone.exit_code == 0, undone.output
    assert snapshot(files) == before


def test_without_db_a_dry_run_touches_nothing_and_a_write_journals_in_the_data_folder(
        cli, tiny_model: Path, tmp_path: Path, data_dir: Path):
    files = make_library(tmp_path / "music", 3, broken=0)
    before = snapshot(files)
    result = cli("tag", tmp_path / "music", "-m", tiny_model, "--top", "2", "--separator", " | ")
    assert result.exit_code == 0 and " | " in result.stdout and not data_dir.exists()
    assert snapshot(files) == before

    assert cli("tag", tmp_path / "music", "-m", tiny_model, "--write", "--overwrite", "-q").exit_code == 0
    assert all(" | " not in read_tags(p).genres[0] for p in files)
    assert (data_dir / "tag-journal.sqlite").is_file()
    assert cli("tag", "--undo", "-q").exit_code == 0
    assert snapshot(files) == before


def test_min_confidence_skips_and_reports(cli, tiny_model: Path, tmp_path: Path):
    files = make_library(tmp_path / "music", 2, broken=0)
    result = cli("tag", tmp_path / "music", "-m", tiny_model, "--min-confidence", "1", "--write", "--json")
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert result.exit_code == 0 and [x["action"] for x in lines] == ["skip", "skip"]
    assert all("--min-confidence" in x["reason"] for x in lines)
    assert all(read_tags(p).genres == () for p in files)


def test_undo_without_a_journal_and_tag_without_a_library_are_usage_errors(cli, tmp_path: Path):
    assert cli("tag", "--undo", "--db", tmp_path / "absent.sqlite").exit_code == 2
    assert cli("tag").exit_code == 2
