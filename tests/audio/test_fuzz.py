"""Decoder fuzzing: damaged files of every format libsndfile writes give a clean signal or a genrekit AudioError.

Each format's small valid file is mutated deterministically (seeded byte
flips in the header and the body, truncations, header fields set to 0 or
0xFF, chunk sizes enlarged) and run through probe, load_audio and
stream_windows. Any other exception type is a decoder bug to fix in
genrekit.audio, not here.
"""

from __future__ import annotations

import io
import struct
import time

import numpy as np
import pytest
import soundfile as sf

from synth import sine
from genrekit.audio import Windowing, load_audio, probe, stream_audio, stream_windows
from genrekit.errors import AudioError

# (name, soundfile format, subtype, native rate)
FORMATS = [
    ("wav", "WAV", "PCM_16", 22050),
    ("flac", "FLAC", "PCM_16", 22050),
    ("ogg", "OGG", "VORBIS", 22050),
    ("opus", "OGG", "OPUS", 48000),
    ("mp3", "MP3", None, 22050),
    ("aiff", "AIFF", "PCM_16", 22050),
    ("au", "AU", "PCM_16", 22050),
    ("caf", "CAF", "PCM_16", 22050),
    ("w64", "W64", "PCM_16", 22050),
]
MUTATIONS = 60
HEADER = 64


def _valid(fmt: str, subtype: str | None, sr: int) -> bytes:
    buf = io.BytesIO()
    y = np.stack([sine(440.0, seconds=1.2, sr=sr), sine(660.0, seconds=1.2, sr=sr)], axis=1)
    sf.write(buf, y, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


def _mutations(data: bytes, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    n = len(data)
    out: list[bytes] = []
    for cut in np.linspace(1, n - 1, 12).astype(int):  # truncations at many offsets
        out.append(data[:cut])
    while len(out) < MUTATIONS:
        b = bytearray(data)
        kind = len(out) % 4
        if kind == 0:  # byte flips in the header region
            for i in rng.integers(0, min(HEADER, n), size=int(rng.integers(1, 6))):
                b[i] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1:  # byte flips anywhere in the body
            for i in rng.integers(min(HEADER, n - 1), n, size=int(rng.integers(1, 40))):
                b[i] = int(rng.integers(0, 256))
        elif kind == 2:  # a 4-byte header field set to 0 or 0xFF
            i = int(rng.integers(0, min(HEADER, n) - 4))
            b[i:i + 4] = (b"\x00" if rng.random() < 0.5 else b"\xff") * 4
        else:  # a size field enlarged (wherever a little- or big-endian 32-bit value looks like a size)
            i = int(rng.integers(4, min(HEADER, n) - 4))
            value = int(rng.choice([0x7FFFFFFF, 0xFFFFFFF0, n * 50, 10**9]))
            b[i:i + 4] = struct.pack("<I" if rng.random() < 0.5 else ">I", value)
        out.append(bytes(b))
    return out


def _check(path) -> str:
    outcomes = []
    for step in ("probe", "load", "stream"):
        try:
            if step == "probe":
                probe(path)
            elif step == "load":
                y = load_audio(path)
                assert y.dtype == np.float32 and y.ndim == 1 and np.isfinite(y).all()
            else:
                for _, w in stream_windows(stream_audio(path, block_seconds=0.25), 22050, Windowing(0.5, 0.25), path):
                    assert w.dtype == np.float32 and w.ndim == 1 and np.isfinite(w).all()
            outcomes.append("ok")
        except AudioError as error:
            assert str(path) in str(error)
            outcomes.append(type(error).__name__)
    return "/".join(outcomes)


@pytest.mark.parametrize("name, fmt, subtype, sr", FORMATS, ids=[f[0] for f in FORMATS])
def test_mutated_files_give_a_signal_or_an_audio_error(tmp_path, name, fmt, subtype, sr):
    assert fmt in sf.available_formats()
    data = _valid(fmt, subtype, sr)
    good = tmp_path / f"good.{name}"
    good.write_bytes(data)
    assert _check(good) == "ok/ok/ok"
    started = time.monotonic()
    seen = {}
    for i, mutated in enumerate(_mutations(data, seed=sum(map(ord, name)))):
        path = tmp_path / f"m{i:03d}.{name}"
        path.write_bytes(mutated)
        outcome = _check(path)
        seen[outcome] = seen.get(outcome, 0) + 1
        path.unlink()
    assert time.monotonic() - started < 20, seen
    assert any(k != "ok/ok/ok" for k in seen), seen  # the mutations do break files
