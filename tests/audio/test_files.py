"""Finding audio files in folders (genrekit.audio.files)."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from synth import sine
from genrekit.audio import UNSUPPORTED_EXTENSIONS, find_audio_files, load_audio, probe
from genrekit.errors import UnsupportedAudioError

M4A_HEAD = struct.pack(">I", 24) + b"ftypM4A \x00\x00\x02\x00M4A isom" + bytes(2000)


def test_find_audio_files_searches_folders_recursively(tmp_path: Path, write_audio):
    write_audio("a/one.wav", sine(440.0, seconds=0.1))
    write_audio("a/b/two.flac", sine(440.0, seconds=0.1))
    (tmp_path / "a" / "notes.txt").write_text("not audio")
    (tmp_path / "a" / ".hidden.wav").write_bytes(b"")
    named = tmp_path / "named.dat"
    named.write_bytes(b"x")
    found = find_audio_files([tmp_path / "a", named])
    assert [p.name for p in found] == ["two.flac", "one.wav", "named.dat"]  # sorted by path: a/b/ < a/one


def test_unsupported_audio_is_found_not_skipped(tmp_path: Path, write_audio):
    write_audio("a/one.wav", sine(440.0, seconds=0.1))
    for name in ("song.m4a", "book.m4b", "raw.aac", "win.wma", "clip.webm", "x.opus.mka"):
        (tmp_path / "a" / name).write_bytes(M4A_HEAD)
    names = sorted(p.name for p in find_audio_files([tmp_path / "a"]))
    assert names == ["book.m4b", "clip.webm", "one.wav", "raw.aac", "song.m4a", "win.wma", "x.opus.mka"]
    assert {".m4a", ".m4b", ".m4p", ".aac", ".alac", ".mp4", ".wma", ".webm", ".mkv", ".mka", ".ape", ".wv",
            ".amr", ".ac3"} <= UNSUPPORTED_EXTENSIONS


@pytest.mark.parametrize("call", [probe, load_audio])
def test_an_m4a_is_refused_by_name(tmp_path, call):
    path = tmp_path / "song.m4a"
    path.write_bytes(M4A_HEAD)
    with pytest.raises(UnsupportedAudioError, match=r"m4a \(AAC/ALAC in an MP4 container\) is not supported by "
                                                    r"this genrekit yet"):
        call(path)


def test_an_m4a_named_mp3_says_what_it_looks_like(tmp_path):
    path = tmp_path / "song.mp3"
    path.write_bytes(M4A_HEAD)
    with pytest.raises(UnsupportedAudioError, match="looks like an MP4/M4A container"):
        load_audio(path)


def test_a_wav_named_m4a_is_still_decoded(tmp_path, write_audio):
    wav = write_audio("real.wav", sine(440.0, seconds=0.5))
    renamed = tmp_path / "real.m4a"
    wav.rename(renamed)
    assert len(load_audio(renamed)) == 11025


def test_names_that_are_not_utf8_are_found(tmp_path, write_audio):
    name = os.fsdecode(b"caf\xe9-\xff.wav")  # latin-1 bytes from an old disk
    plain = write_audio("d/plain.wav", sine(440.0, seconds=0.1))
    os.rename(plain, plain.with_name(name))  # soundfile itself cannot write such a name
    (found,) = find_audio_files([tmp_path / "d"])
    assert found.name == name
    assert len(load_audio(found)) == 2205


def test_an_unreadable_subfolder_is_passed_over(tmp_path, write_audio, monkeypatch):
    write_audio("d/ok/one.wav", sine(440.0, seconds=0.1))
    write_audio("d/locked/two.wav", sine(440.0, seconds=0.1))
    locked = str(tmp_path / "d" / "locked")
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)  # works as root too, where chmod 000 does not bite
    assert [p.name for p in find_audio_files([tmp_path / "d"])] == ["one.wav"]


def test_symlink_loops_are_not_followed(tmp_path, write_audio):
    write_audio("d/sub/one.wav", sine(440.0, seconds=0.1))
    os.symlink(tmp_path / "d", tmp_path / "d" / "sub" / "loop")
    os.symlink(tmp_path / "d" / "sub" / "missing.wav", tmp_path / "d" / "dangling.wav")
    assert [p.name for p in find_audio_files([tmp_path / "d"])] == ["one.wav"]
