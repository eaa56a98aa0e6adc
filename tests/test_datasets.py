"""Labelled collections: folder-per-genre, CSV manifests, GTZAN and its built-in split, loose files."""

from __future__ import annotations

import csv
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from genrekit.datasets import (
    Record,
    apply_gtzan_split,
    filter_split,
    gtzan_clip_id,
    gtzan_split_map,
    is_gtzan,
    label_counts,
    load_dataset,
    load_genre_folders,
    load_gtzan,
    load_manifest,
    load_sources,
    summarize,
)
from genrekit.errors import DatasetError

TINY = np.zeros(64, dtype=np.float32)


def _touch_audio(write_audio, names: list[str]) -> None:
    for name in names:
        write_audio(name, TINY)


def _ids_by_split() -> dict[str | None, list[str]]:
    """Clip ids of the built-in split per split name, plus (under None) ids listed nowhere."""
    mapping = gtzan_split_map()
    out: dict[str | None, list[str]] = {"train": [], "valid": [], "test": [], None: []}
    for genre in ("jazz", "metal"):
        for n in range(100):
            clip = f"{genre}.{n:05d}"
            out[mapping.get(clip)].append(clip)
    return out


# --------------------------------------------------------------------------- GTZAN


def test_builtin_split_has_the_published_sizes_and_no_overlap():
    mapping = gtzan_split_map()
    counts = Counter(mapping.values())
    assert counts == {"train": 443, "valid": 197, "test": 290}
    assert all(gtzan_clip_id(c + ".wav") == c for c in mapping)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("blues.00029.wav", "blues.00029"),
        ("/x/rock/rock.00007.mp3", "rock.00007"),
        ("jazz.00054.au", "jazz.00054"),
        ("blues.0029.wav", None),
        ("polka.00001.wav", None),
        ("blues_00001.wav", None),
        ("my song.mp3", None),
    ],
)
def test_gtzan_clip_id(name, expected):
    assert gtzan_clip_id(name) == expected


def _gtzan_tree(tmp_path: Path, write_audio) -> dict[str, str | None]:
    """Tiny wavs named like GTZAN: a train, valid, test and unlisted clip of two genres; expected splits."""
    ids = _ids_by_split()
    expected: dict[str, str | None] = {}
    for split in ("train", "valid", "test", None):
        for genre in ("jazz", "metal"):
            clip = next(c for c in ids[split] if c.startswith(genre))
            write_audio(f"gtzan/{genre}/{clip}.wav", TINY)
            expected[clip] = split
    return expected


def test_gtzan_tree_is_recognised_with_builtin_split(tmp_path, write_audio):
    expected = _gtzan_tree(tmp_path, write_audio)
    root = tmp_path / "gtzan"
    for records in (load_dataset(root), load_gtzan(root), load_genre_folders(root)):
        assert len(records) == 8
        got = {Path(r.path).name.rsplit(".", 1)[0]: r for r in records}
        assert {c: r.split for c, r in got.items()} == expected
        assert {c: r.label for c, r in got.items()} == {c: c.split(".")[0] for c in expected}
        assert {c: r.group for c, r in got.items()} == {c: c for c in expected}
        assert all(Path(r.path).is_absolute() and Path(r.path).is_file() for r in records)
    # a clip listed nowhere really has no split
    assert sum(r.split is None for r in load_dataset(root)) == 2


def test_gtzan_is_recognised_below_an_extra_folder_as_in_the_kaggle_layout(tmp_path, write_audio):
    expected = _gtzan_tree(tmp_path, write_audio)
    data = tmp_path / "Data"
    data.mkdir()
    (tmp_path / "gtzan").rename(data / "genres_original")
    (data / "images_original" / "jazz").mkdir(parents=True)
    (data / "images_original" / "jazz" / "jazz00000.png").write_bytes(b"png")
    (data / "features_30_sec.csv").write_text("filename,label\n")
    for records in (load_dataset(data), load_gtzan(data)):
        assert {Path(r.path).stem: (r.label, r.split) for r in records} == {
            c: (c.split(".")[0], split) for c, split in expected.items()
        }


def test_gtzan_split_matches_on_clip_id_whatever_the_extension(tmp_path, write_audio):
    ids = _ids_by_split()
    clip = ids["test"][0]
    genre = clip.split(".")[0]
    write_audio(f"g/{genre}/{clip}.flac", TINY)
    (record,) = load_dataset(tmp_path / "g")
    assert record.split == "test" and record.label == genre


def test_one_foreign_file_turns_gtzan_recognition_off(tmp_path, write_audio):
    _gtzan_tree(tmp_path, write_audio)
    write_audio("gtzan/metal/my_own_song.wav", TINY)
    records = load_dataset(tmp_path / "gtzan")
    assert len(records) == 9
    assert all(r.split is None for r in records)
    assert {r.group for r in records} >= {"my_own_song"}
    with pytest.raises(DatasetError, match="not named like GTZAN"):
        load_gtzan(tmp_path / "gtzan")


def test_gtzan_name_in_the_wrong_genre_folder_is_not_gtzan(tmp_path, write_audio):
    write_audio("c/rock/blues.00029.wav", TINY)
    (record,) = load_dataset(tmp_path / "c")
    assert record.label == "rock" and record.split is None


def test_manifest_split_disagreeing_with_gtzan_is_overridden_with_a_warning(tmp_path, write_audio):
    ids = _ids_by_split()
    train, valid = ids["train"][0], ids["valid"][0]
    g1, g2 = train.split(".")[0], valid.split(".")[0]
    write_audio(f"m/{g1}/{train}.wav", TINY)
    write_audio(f"m/{g2}/{valid}.wav", TINY)
    (tmp_path / "m" / "manifest.csv").write_text(
        f"path,genre,split\n{g1}/{train}.wav,{g1},train\n{g2}/{valid}.wav,{g2},test\n"
    )
    with pytest.warns(UserWarning, match=f"1 GTZAN clip.*{valid} \\(test -> valid\\)"):
        records = load_dataset(tmp_path / "m")
    assert [r.split for r in records] == ["train", "valid"]
    with pytest.warns(UserWarning):
        forced = load_dataset(tmp_path / "m" / "manifest.csv", layout="gtzan")
    assert forced == records


def test_apply_gtzan_split_keeps_a_given_split_for_unlisted_clips():
    unlisted = _ids_by_split()[None][0]
    (r,) = apply_gtzan_split([Record(f"/x/{unlisted}.wav", None, "g", "train")])
    assert r.split == "train" and r.label == unlisted.split(".")[0]
    assert not is_gtzan([])


@pytest.mark.gtzan
def test_real_gtzan_subset(gtzan_root):
    with open(gtzan_root / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    manifest_split = {str((gtzan_root / r["path"]).resolve()): r["split"] for r in rows}
    manifest_label = {str((gtzan_root / r["path"]).resolve()): r["genre"] for r in rows}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the manifest's split agrees with the built-in one
        records = load_dataset(gtzan_root)
    assert len(records) == len(rows) == 265
    assert len({r.label for r in records}) == 10
    assert Counter(r.split for r in records) == Counter(r["split"] for r in rows)
    for r in records:
        key = str(Path(r.path).resolve())
        assert r.split == manifest_split[key]
        assert r.label == manifest_label[key]
        assert r.group == Path(r.path).stem
    # the same collection read through its genre folders, ignoring the manifest
    by_folders = load_genre_folders(gtzan_root)
    assert sorted((r.path, r.label, r.split) for r in by_folders) == sorted((r.path, r.label, r.split) for r in records)


# --------------------------------------------------------------------------- manifests


def test_manifest_columns_paths_and_aliases(tmp_path, write_audio):
    write_audio("data/a/one.wav", TINY)
    write_audio("data/two.flac", TINY)
    absolute = write_audio("elsewhere/three.wav", TINY)
    manifest = tmp_path / "data" / "list.csv"
    manifest.write_text(
        "Path,Label,Group,Split,extra\n"
        "a/one.wav,rock,artist1,Train,x\n"
        f"two.flac,jazz,,VAL,y\n"
        f"{absolute},,artist1,,z\n"
    )
    records = load_dataset(manifest)
    assert records == [
        Record(str(tmp_path / "data" / "a" / "one.wav"), "rock", "artist1", "train"),
        Record(str(tmp_path / "data" / "two.flac"), "jazz", "two", "valid"),
        Record(str(absolute), None, "artist1", None),
    ]


def test_manifest_accepts_genre_as_label_and_no_split_or_group(tmp_path, write_audio):
    write_audio("x/s.wav", TINY)
    (tmp_path / "x" / "manifest.csv").write_text("path,genre\ns.wav,pop\n")
    assert load_dataset(tmp_path / "x") == [Record(str(tmp_path / "x" / "s.wav"), "pop", "s", None)]


@pytest.mark.parametrize(
    "text, message",
    [
        ("file,label\na.wav,rock\n", "no 'path' column"),
        ("path,style\na.wav,rock\n", "no 'label' \\(or 'genre'\\) column"),
        ("path,label,split\na.wav,rock,holdout\n", "line 2: unknown split 'holdout'"),
        ("path,label\n,rock\n", "line 2: empty path"),
        ("path,label\n", "lists no files"),
        ("", "no 'path' column"),
    ],
)
def test_manifest_errors_are_specific(tmp_path, text, message):
    manifest = tmp_path / "bad.csv"
    manifest.write_text(text)
    with pytest.raises(DatasetError, match=message):
        load_manifest(manifest)


def test_missing_manifest_and_source(tmp_path):
    with pytest.raises(DatasetError, match="manifest not found"):
        load_manifest(tmp_path / "nope.csv")
    with pytest.raises(DatasetError, match="no such file or folder"):
        load_dataset(tmp_path / "nothing-here")


# --------------------------------------------------------------------------- folders and files


def test_folder_per_genre_is_recursive_and_skips_non_audio(tmp_path, write_audio):
    _touch_audio(write_audio, ["lib/rock/a.wav", "lib/rock/live/b.flac", "lib/jazz/c.ogg", "lib/jazz/.hidden.wav"])
    (tmp_path / "lib" / "jazz" / "cover.jpg").write_bytes(b"jpeg")
    (tmp_path / "lib" / ".cache").mkdir()
    records = load_dataset(tmp_path / "lib")
    assert [(Path(r.path).name, r.label, r.group, r.split) for r in records] == [
        ("c.ogg", "jazz", "c", None),
        ("a.wav", "rock", "a", None),
        ("b.flac", "rock", "b", None),
    ]
    assert label_counts(records) == {"jazz": 1, "rock": 2}


def test_folder_without_audio_is_an_error(tmp_path):
    (tmp_path / "empty" / "rock").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no audio files"):
        load_dataset(tmp_path / "empty")
    with pytest.raises(DatasetError, match="no audio files in genre folders"):
        load_genre_folders(tmp_path / "empty")


def test_loose_files_are_unlabelled(tmp_path, write_audio):
    _touch_audio(write_audio, ["loose/x.wav", "loose/sub/y.mp3"])
    records = load_dataset(tmp_path / "loose")  # audio at the top: not genre folders
    assert [(Path(r.path).name, r.label, r.split) for r in records] == [("y.mp3", None, None), ("x.wav", None, None)]
    (single,) = load_dataset(tmp_path / "loose" / "x.wav")
    assert single == Record(str(tmp_path / "loose" / "x.wav"), None, "x", None)
    # forcing a layout
    assert {r.label for r in load_dataset(tmp_path / "loose", layout="folders")} == {"sub"}


def test_load_sources_concatenates_and_drops_repeats(tmp_path, write_audio):
    _touch_audio(write_audio, ["lib/rock/a.wav", "lib/jazz/b.wav"])
    records = load_sources([tmp_path / "lib", tmp_path / "lib" / "rock" / "a.wav"])
    assert [(Path(r.path).name, r.label) for r in records] == [("b.wav", "jazz"), ("a.wav", "rock")]


# --------------------------------------------------------------------------- helpers


def test_filter_split_and_summary():
    records = [
        Record("/a", "rock", "a", "train"),
        Record("/b", "rock", "b", "train"),
        Record("/c", "jazz", "c", "valid"),
        Record("/d", None, "d", None),
    ]
    assert [r.path for r in filter_split(records, "train")] == ["/a", "/b"]
    assert [r.path for r in filter_split(records, "validation")] == ["/c"]
    assert [r.path for r in filter_split(records, None)] == ["/d"]
    assert label_counts(records) == {"jazz": 1, "rock": 2, None: 1}
    s = summarize(records)
    assert s["files"] == 4 and s["groups"] == 4
    assert s["splits"] == {"train": {"rock": 2}, "valid": {"jazz": 1}, None: {None: 1}}
    assert list(s["splits"]) == ["train", "valid", None]
    with pytest.raises(DatasetError, match="unknown split"):
        filter_split(records, "holdout")
