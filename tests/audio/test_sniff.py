"""Telling what a file is from its first bytes (genrekit.audio.sniff), and the refusals that quote it."""

from __future__ import annotations

import io
import os
import struct

import numpy as np
import pytest
import soundfile as sf

from synth import sine
from genrekit.audio import load_audio, probe, sniff
from genrekit.errors import AudioError, UnsupportedAudioError


def _encoded(**kwargs) -> bytes:
    buf = io.BytesIO()
    sr = 48000 if kwargs.get("subtype") == "OPUS" else 22050
    sf.write(buf, sine(440.0, seconds=0.3, sr=sr), sr, **kwargs)
    return buf.getvalue()


@pytest.mark.parametrize("kwargs, kind", [
    ({"format": "WAV"}, "wav"), ({"format": "FLAC"}, "flac"), ({"format": "OGG", "subtype": "VORBIS"}, "ogg"),
    ({"format": "OGG", "subtype": "OPUS"}, "opus"), ({"format": "MP3"}, "mp3"), ({"format": "AIFF"}, "aiff"),
    ({"format": "AU"}, "au"), ({"format": "CAF"}, "caf"), ({"format": "W64"}, "w64"),
])
def test_formats_genrekit_reads_sniff_as_audio(kwargs, kind):
    found = sniff(_encoded(**kwargs))
    assert found.category == "audio" and found.kind == kind


CASES = [
    (b"hello, this is a README\n" * 20, "looks like text"),
    (b"<!DOCTYPE html><html><head></head><body>404</body></html>", "looks like HTML"),
    (b"\x89PNG\r\n\x1a\n" + bytes(200), "looks like a PNG image"),
    (b"PK\x03\x04" + bytes(200), "looks like a ZIP archive"),
    (b"\xff\xd8\xff\xe0" + bytes(200), "looks like a JPEG image"),
    (b"%PDF-1.7\n" + bytes(200), "looks like a PDF document"),
    (b"ID3\x04\x00\x00\x00\x00\x01\x00" + bytes(128) + b"no frames here " * 40,
     "looks like an ID3 tag with no MPEG audio frames"),
    (b"RIFF\x00\x10\x00\x00AVI LIST" + bytes(200), "looks like an AVI video"),
    (b"ADIF" + bytes(200), "looks like raw AAC (ADIF) audio, not supported"),
    (b"MAC " + bytes(200), "looks like Monkey's Audio (APE), not supported"),
]


@pytest.mark.parametrize("data, text", CASES, ids=[c[1] for c in CASES])
@pytest.mark.parametrize("ext", ["wav", "mp3", "flac"])
def test_non_audio_is_refused_saying_what_it_looks_like(tmp_path, data, text, ext):
    path = tmp_path / f"thing.{ext}"
    path.write_bytes(data)
    with pytest.raises(UnsupportedAudioError, match="not an audio file genrekit can read") as info:
        probe(path)
    assert text in str(info.value) and str(path) in str(info.value)
    assert "possibly a pipe" not in str(info.value) and "not recognised" not in str(info.value)


@pytest.mark.parametrize("data, kind", [
    (struct.pack(">I", 24) + b"ftypM4A \x00\x00\x02\x00M4A isom" + bytes(200), "mp4"),
    (struct.pack(">I", 20) + b"ftypqt  \x00\x00\x02\x00qt  " + bytes(200), "mp4"),
    (struct.pack(">I", 0) + b"mdat" + bytes(200), "mp4"),
    (b"\x1a\x45\xdf\xa3" + bytes(200), "matroska"),
    (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11" + bytes(200), "asf"),
    (b"\xff\xf1\x50\x80" + bytes(200), "aac"),
    (b"\x0b\x77\x00\x00\x00\x40" + bytes(200), "ac3"),
    (b"\x0b\x77\x00\x00\x00\x80" + bytes(200), "eac3"),
    (b"#!AMR\n" + bytes(200), "amr"),
])
def test_containers_libsndfile_cannot_read_sniff_as_audio_for_pyav(data, kind):
    from genrekit.audio.sniff import PYAV_KINDS

    found = sniff(data)
    assert found.category == "audio" and found.kind == kind and kind in PYAV_KINDS


def test_random_bytes_are_unrecognised_binary_data(tmp_path):
    path = tmp_path / "noise.wav"
    path.write_bytes(np.random.default_rng(3).integers(1, 255, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(UnsupportedAudioError, match=r"not an audio file genrekit can read \(unrecognised binary "
                                                    r"data\)"):
        load_audio(path)


def test_a_wav_header_with_rate_zero_names_the_declared_figures(tmp_path):
    data = bytearray(_encoded(format="WAV"))
    data[24:28] = struct.pack("<I", 0)
    path = tmp_path / "zero.wav"
    path.write_bytes(bytes(data))
    with pytest.raises(UnsupportedAudioError, match=r"unsupported sample rate 0 Hz \(genrekit reads 1000-768000 "
                                                    r"Hz\); the WAV header declares 0 Hz, 1 channel"):
        load_audio(path)


def test_an_mp3_after_an_id3_tag_is_audio():
    tag = b"ID3\x04\x00\x00\x00\x00\x00\x20" + bytes(32)
    found = sniff(tag + _encoded(format="MP3"), read_at=None)
    assert found.kind == "mp3"


def test_sniffing_never_fails_on_short_or_odd_input():
    for data in (b"", b"\x00", b"ID3", b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f", b"\xff\xfe", b"\xff\xfb", b"RIFF",
                 b"FORM\x00\x00", bytes(range(256))):
        assert sniff(data).description
