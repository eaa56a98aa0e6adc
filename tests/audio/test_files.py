"""Finding audio files in folders (genrekit.audio.files)."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from synth import sine
from genrekit.audio import UNSUPPORTED_EXTENSIONS, find_audio_files, load_audio, probe
from genrekit.errors import CorruptAudioError, UnsupportedAudioError

M4A_HEAD = struct.pack(">I", 24) + b"ftypM4A \x00\x00\x02\x00M4A isom" + bytes(2000)
APE_HEAD = b"MAC \x96\x0f\x00\x00" + bytes(2000)


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
    for name in ("song.ape", "bought.m4p", "old.mpc", "x.spx", "song.m4a", "clip.webm"):
        (tmp_path / "a" / name).write_bytes(APE_HEAD)
    names = sorted(p.name for p in find_audio_files([tmp_path / "a"]))
    assert names == ["bought.m4p", "clip.webm", "old.mpc", "one.wav", "song.ape", "song.m4a", "x.spx"]
    assert {".m4p", ".ape", ".mpc", ".spx", ".ra", ".dts"} <= UNSUPPORTED_EXTENSIONS
    assert not {".m4a", ".aac", ".wma", ".mp4", ".webm", ".mkv"} & UNSUPPORTED_EXTENSIONS  # PyAV decodes them


@pytest.mark.parametrize("call", [probe, load_audio])
def test_a_format_still_unsupported_is_refused_by_name(tmp_path, call):
    path = tmp_path / "song.ape"
    path.write_bytes(APE_HEAD)
    with pytest.raises(UnsupportedAudioError, match=r"ape \(Monkey's Audio\) is not supported by this genrekit yet"):
        call(path)


def test_a_fake_m4a_named_mp3_says_what_it_looks_like(tmp_path):
    path = tmp_path / "song.mp3"
    path.write_bytes(M4A_HEAD)
    with pytest.raises(CorruptAudioError, match="an MP4/M4A container, but its header could not be read"):
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
