"""read_tags / write_genre per tag family: genres, artists, provenance, and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from genrekit.errors import TagError
from genrekit.library.tagfiles import Provenance, read_tags, write_genre
from libsynth import clip, write_clip

ENDINGS = ("mp3", "wav", "aiff", "flac", "ogg", "m4a")
MARK = Provenance(model="ab" * 32, confidence=0.8125, genre="rock")


def human_tags(path: Path, genres: list[str], artist: str) -> None:
    """Tags as another program would write them: several genre values and an artist."""
    import mutagen

    audio = mutagen.File(path)
    if audio.tags is None:
        audio.add_tags()
    if path.suffix in (".mp3", ".wav", ".aiff"):
        from mutagen.id3 import TCON, TPE1

        audio.tags.add(TCON(encoding=3, text=genres))
        audio.tags.add(TPE1(encoding=3, text=[artist]))
    elif path.suffix == ".m4a":
        audio.tags["\xa9gen"] = genres
        audio.tags["\xa9ART"] = [artist]
    else:
        audio.tags["GENRE"] = genres
        audio.tags["ARTIST"] = [artist]
    audio.save()


@pytest.mark.parametrize("ending", ENDINGS)
def test_a_person_s_genres_are_read_split_and_then_genrekit_s_are_recognised(ending: str, tmp_path: Path):
    path = write_clip(tmp_path / f"a.{ending}", clip(1, 1.0))
    assert read_tags(path).genres == () and read_tags(path).provenance is None

    human_tags(path, ["Jazz", "Blues"], "Miles")
    tags = read_tags(path)
    assert tags.genres == ("Jazz", "Blues") and tags.artist == "Miles"
    assert not tags.by_genrekit and tags.human_genres == ("Jazz", "Blues")

    write_genre(path, "rock", MARK)
    tags = read_tags(path)
    assert tags.genres == ("rock",) and tags.provenance == MARK and tags.artist == "Miles"
    assert tags.by_genrekit and tags.human_genres == ()


@pytest.mark.parametrize("ending", ("mp3", "flac", "m4a"))
def test_a_genre_edited_after_genrekit_wrote_it_is_the_person_s_again(ending: str, tmp_path: Path):
    path = write_clip(tmp_path / f"a.{ending}", clip(2, 1.0))
    write_genre(path, "rock", MARK)
    human_tags(path, ["Metal"], "Someone")
    tags = read_tags(path)
    assert tags.provenance == MARK and not tags.by_genrekit and tags.human_genres == ("Metal",)


def test_a_damaged_provenance_counts_as_none(tmp_path: Path):
    import mutagen

    path = write_clip(tmp_path / "a.flac", clip(3, 1.0))
    write_genre(path, "rock", MARK)
    audio = mutagen.File(path)
    audio.tags["GENREKIT_CONFIDENCE"] = ["lots"]
    audio.save()
    tags = read_tags(path)
    assert tags.provenance is None and tags.human_genres == ("rock",)


def test_unreadable_files_raise_tag_error_naming_them(tmp_path: Path):
    (tmp_path / "junk.mp3").write_bytes(b"\x00" * 50)
    (tmp_path / "text.flac").write_bytes(b"fLaC" + b"\xff" * 40)
    (tmp_path / "a.au").write_bytes(b".snd" + b"\0" * 40)
    for name in ("junk.mp3", "text.flac", "a.au", "missing.ogg"):
        with pytest.raises(TagError, match=name):
            read_tags(tmp_path / name)
    error = TagError(tmp_path / "x.mp3", "detail")
    import pickle

    again = pickle.loads(pickle.dumps(error))
    assert str(again) == str(error) and again.detail == "detail"
