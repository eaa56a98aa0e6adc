"""Your own taxonomy: a tagged library becomes an artist-grouped collection, and a model trained on it tags the rest.

The libraries here are synthetic: each "genre" is a texture the fast
``default`` feature set tells apart (low pulses, square waves, noise, high
sines), each artist a variation of it, and the genre and artist tags are set
with mutagen in the spellings people use.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mutagen
import numpy as np
import pytest

from libsynth import SR, write_clip
from synth import sine, white_noise

from genrekit.datasets import Record
from genrekit.errors import ConfigError, DatasetError, TagError
from genrekit.library.tagfiles import Provenance, write_genre
from genrekit.library.taxonomy import (
    VALIDATION_NOTE,
    first_genre,
    genre_key,
    library_taxonomy,
    split_by_artist,
)

SECONDS = 2.0

# genre -> the spellings its files carry, in turn (the first is the most common: the label it becomes)
SPELLINGS = {
    "Hip-Hop": ["Hip-Hop", "hip hop", "Hip-Hop", "HipHop", "hiphop"],
    "Rock & Roll": ["Rock & Roll", "rock and roll", "Rock & Roll", "Rock 'n' Roll"],
    "Rock": ["Rock", "rock", "Rock", "ROCK"],
    "Ambient": ["Ambient", "ambient ", "Ambient"],
}


def texture(genre: str, artist: int, take: int) -> np.ndarray:
    """A clip of ``genre``: a texture the ``default`` features separate, varied per artist and take."""
    n = int(SECONDS * SR)
    t = np.arange(n) / SR
    rng = np.random.default_rng(1000 * artist + take)
    gain = 0.25 + 0.1 * rng.random()
    if genre == "Hip-Hop":  # a low drone under a kick every quarter second
        y = 0.5 * np.sin(2 * np.pi * (50 + 6 * artist) * t)
        y[(np.arange(n) % (SR // 4)) < 200] += 0.8
    elif genre == "Rock & Roll":  # a square wave: strong odd harmonics
        y = np.sign(np.sin(2 * np.pi * (180 + 20 * artist + 5 * take) * t))
    elif genre == "Rock":  # broadband noise
        y = white_noise(SECONDS, seed=1000 * artist + take) * 2
    else:  # Ambient: a soft high sine
        y = sine(2000 + 150 * artist + 20 * take, seconds=SECONDS)
    return (gain * y / np.max(np.abs(y))).astype(np.float32)


def set_tags(path: Path, **tags: str) -> Path:
    """Set easy tags (``genre``, ``artist``, ``albumartist``) on an mp3, flac or ogg file with mutagen."""
    audio = mutagen.File(path, easy=True)
    if audio.tags is None:
        audio.add_tags()
    for key, value in tags.items():
        audio[key] = value
    audio.save()
    return path


FORMATS = ("flac", "ogg", "flac", "mp3")  # mp3 last and least: its encoder is the slow one


def make_tagged_library(root: Path, *, artists: int = 5, takes: int = 6, untagged: int = 30) -> dict[str, Any]:
    """About ``4 * artists * takes`` tagged clips, two rare genres, ``untagged`` clips and one unreadable file."""
    made: dict[str, Any] = {"tagged": [], "untagged": [], "by_genrekit": [], "unreadable": []}
    for genre, spellings in SPELLINGS.items():
        for a in range(artists):
            artist = f"{genre} Artist {a}"
            for k in range(takes):
                ext = FORMATS[(a + k) % len(FORMATS)]
                path = write_clip(root / artist / f"take{k}.{ext}", texture(genre, a, k))
                spelling = spellings[(a * takes + k) % len(spellings)]
                # one artist is named by the album-artist tag only, and in another case
                names = {"albumartist": artist} if a == 4 else {"artist": artist.upper() if k % 2 else artist}
                made["tagged"].append(set_tags(path, genre=spelling, **names))
    for a, (genre, files) in enumerate((("Polka", 3), ("Zydeco", 2), ("Zydeco", 2))):  # 1 and 2 artists
        for k in range(files):
            path = write_clip(root / "rare" / f"{genre}{a}-{k}.flac", texture("Ambient", a, k))
            set_tags(path, genre=genre, artist=f"{genre} Band {a}")
    for i in range(untagged):
        genre = list(SPELLINGS)[i % len(SPELLINGS)]
        path = write_clip(root / "inbox" / f"new{i:02d}.{FORMATS[i % len(FORMATS)]}", texture(genre, 10 + i % 3, i))
        if i % 10 == 0:  # genrekit tagged it before: its genre is genrekit's own, not a person's
            write_genre(path, "Rock", Provenance(model="ab" * 32, confidence=0.8, genre="Rock"))
            made["by_genrekit"].append(path)
        else:
            set_tags(path, artist=f"Newcomer {i}")
        made["untagged"].append(path)
    broken = root / "inbox" / "broken.mp3"
    broken.write_bytes(b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + b"\xff" * 64)  # an ID3 header claiming 256 MB
    made["unreadable"].append(broken)
    return made


# ----------------------------------------------------------------------------- spellings


@pytest.mark.parametrize("spellings", [
    ["Hip-Hop", "hip hop", "hiphop", "HipHop", " Hip  Hop ", "HIP-HOP"],
    ["Rock & Roll", "rock and roll", "Rock 'n' Roll", "Rock n Roll", "rock\u2019n\u2019roll", "Rock'n'Roll"],
    ["R&B", "R and B", "r & b"],
    ["Drum & Bass", "Drum and Bass", "drum'n'bass", "Drum-n-Bass"],
])
def test_spellings_of_one_genre_share_a_key(spellings: list[str]) -> None:
    assert len({genre_key(s) for s in spellings}) == 1


def test_distinct_genres_keep_distinct_keys() -> None:
    keys = [genre_key(g) for g in ("Rock", "Rock & Roll", "Pop", "Pop Rock", "Country", "Nu Jazz", "Jazz")]
    assert len(set(keys)) == len(keys)
    assert genre_key("???") == "" and genre_key("Country") == "country"  # an "n" inside a word stays a letter


def test_the_first_of_several_genres_is_the_label() -> None:
    assert first_genre(["Rock; Pop"]) == "Rock"
    assert first_genre(["Jazz/Funk", "Soul"]) == "Jazz"
    assert first_genre(["  ", "--", "Blues , Rock"]) == "Blues"
    assert first_genre([]) is None and first_genre(["?!"]) is None


# ----------------------------------------------------------------------------- reading a library


@pytest.fixture(scope="module")
def small_library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("small-library")
    return root, make_tagged_library(root, artists=5, takes=2, untagged=10)


def test_library_reads_as_an_artist_grouped_collection(small_library: tuple[Path, dict[str, Any]]) -> None:
    root, made = small_library
    taxonomy = library_taxonomy(root)

    assert taxonomy.labels == sorted(SPELLINGS)
    assert {r.path for r in taxonomy.records} == {str(p) for p in made["tagged"]}
    assert taxonomy.renamed() == {"hip hop": "Hip-Hop", "HipHop": "Hip-Hop", "hiphop": "Hip-Hop",
                                  "rock and roll": "Rock & Roll", "Rock 'n' Roll": "Rock & Roll",
                                  "rock": "Rock", "ROCK": "Rock", "ambient": "Ambient"}
    assert taxonomy.spellings["Rock"] == "Rock" and taxonomy.spellings["Rock & Roll"] == "Rock & Roll"
    # artists: case ignored, the album artist where a file names no artist
    groups = {r.group for r in taxonomy.records if r.label == "Rock"}
    assert groups == {f"artist:rock artist {a}" for a in range(5)}
    assert taxonomy.artists_per_label == {label: 5 for label in SPELLINGS}


def test_rare_genres_are_dropped_and_reported(small_library: tuple[Path, dict[str, Any]]) -> None:
    root, _ = small_library
    dropped = {d.label: (d.artists, d.files) for d in library_taxonomy(root).dropped}
    assert dropped == {"Polka": (1, 3), "Zydeco": (2, 4)}

    kept = library_taxonomy(root, min_artists=2)
    assert "Zydeco" in kept.labels and [d.label for d in kept.dropped] == ["Polka"]
    assert "Polka" not in kept.spellings


def test_untagged_and_unreadable_files_are_returned_apart(small_library: tuple[Path, dict[str, Any]]) -> None:
    root, made = small_library
    taxonomy = library_taxonomy(root)

    assert set(taxonomy.untagged) == {str(p) for p in made["untagged"]}
    assert set(map(str, made["by_genrekit"])) <= set(taxonomy.untagged)  # genrekit's own genre is no label
    assert [e.path for e in taxonomy.unreadable] == [str(p) for p in made["unreadable"]]
    assert all(isinstance(e, TagError) for e in taxonomy.unreadable)
    summary = json.loads(json.dumps(taxonomy.to_dict()))
    assert summary["untagged"] == list(taxonomy.untagged) and len(summary["unreadable"]) == 1


def test_the_split_never_shares_an_artist(small_library: tuple[Path, dict[str, Any]]) -> None:
    root, _ = small_library
    for seed in range(3):
        taxonomy = library_taxonomy(root, seed=seed)
        train, valid = taxonomy.artists("train"), taxonomy.artists("valid")
        assert valid and not train & valid
        assert {r.label for r in taxonomy.records if r.split == "train"} == set(SPELLINGS)


def test_split_holds_out_artists_per_genre_and_never_a_whole_genre() -> None:
    records = [Record(f"/a{i}.flac", "a", f"artist:a{i % 5}") for i in range(10)]  # 5 artists of a
    records += [Record(f"/b{i}.flac", "b", f"artist:b{i % 3}") for i in range(3)]  # 3 artists of b, 1 file each
    records += [Record("/c.flac", "c", "artist:a0")]  # c: one file, by an artist of a
    records += [Record(f"/d{i}.flac", "d", "artist:d") for i in range(2)]  # d: one artist, cannot be held out
    held_out_c = 0
    for seed in range(20):
        split = split_by_artist(records, 0.2, seed=seed)
        valid = {r.group for r in split if r.split == "valid"}
        assert not valid & {r.group for r in split if r.split == "train"}
        assert len(valid & {f"artist:a{i}" for i in range(5)}) <= 1 and len(valid & {"artist:b0", "artist:b1",
                                                                                      "artist:b2"}) == 1
        assert {r.split for r in split if r.label in ("c", "d")} == {"train"}  # c's only artist given back
        held_out_c += "artist:a0" not in valid and len(valid) == 1
    assert held_out_c  # some seeds chose a0 for a, then gave it back for c
    assert split_by_artist(records[-2:], 0.2, seed=0) == records[-2:]  # one artist in all: no split at all


def test_bad_arguments_are_typed_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no audio files"):
        library_taxonomy(tmp_path)
    with pytest.raises(DatasetError, match="no such file or folder"):
        library_taxonomy(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="min_artists"):
        library_taxonomy(tmp_path, min_artists=0)
    with pytest.raises(ConfigError, match="valid_fraction"):
        library_taxonomy(tmp_path, valid_fraction=1.0)


# ----------------------------------------------------------------------------- acceptance


@pytest.mark.slow
def test_train_on_the_library_tags_then_tag_its_untagged_files(tmp_path: Path) -> None:
    """120 tagged clips + 30 untagged: the model's labels are the merged tag set, validated on unseen
    artists, and ``genrekit tag --model`` proposes one of them for every untagged file."""
    from typer.testing import CliRunner

    from genrekit.cli import app

    library = tmp_path / "music"
    made = make_tagged_library(library)
    assert len(made["tagged"]) == 120 and len(made["untagged"]) == 30
    model = tmp_path / "mine.genre"

    runner = CliRunner()
    trained = runner.invoke(app, ["train", str(library), "--labels-from-tags", "--out", str(model), "--set",
                                  "default", "--window", "1", "--json", "-q"])
    assert trained.exit_code == 0, trained.output
    card = json.loads(trained.stdout)

    assert card["labels"] == sorted(SPELLINGS)
    assert card["feature_set"]["name"] == "default"
    entry = card["taxonomy"]
    assert entry["labels_from"] == "tags" and entry["grouped_by"] == "artist"
    assert entry["validation"] == VALIDATION_NOTE
    assert entry["dropped"] == [{"label": "Zydeco", "artists": 2, "files": 4},  # most files first
                                {"label": "Polka", "artists": 1, "files": 3}]
    assert entry["spellings"]["hiphop"] == "Hip-Hop" and entry["untagged_files"] == 30
    # the split the card was measured on is the artist-disjoint one
    taxonomy = library_taxonomy(library)
    train, valid = taxonomy.artists("train"), taxonomy.artists("valid")
    assert valid and not train & valid
    assert card["training"]["n_tracks"] == sum(r.split == "train" for r in taxonomy.records)
    assert card["validation"]["split"] == "valid"
    assert card["validation"]["metrics"]["n_tracks"] == sum(r.split == "valid" for r in taxonomy.records)
    assert card["validation"]["metrics"]["balanced_accuracy"] >= 0.75

    tagged = runner.invoke(app, ["tag", str(library / "inbox"), "--model", str(model), "--json", "-q"])
    plans = {row["path"]: row for row in map(json.loads, tagged.stdout.splitlines())}
    for path in made["untagged"]:
        assert plans[str(path)]["action"] == "write", plans[str(path)]
        assert plans[str(path)]["new"] in SPELLINGS
    assert plans[str(made["unreadable"][0])]["action"] == "failed"
