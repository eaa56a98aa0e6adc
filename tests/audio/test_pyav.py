"""Decoding through PyAV (genrekit.audio.pyav_decoder): m4a/AAC, ALAC, mp4, WMA, webm, mkv and raw streams.

Every file is made here with PyAV's own encoders (hostile.encode_av). A
lossless codec must decode to exactly what the same samples give as a WAV;
a lossy one to the same audio within the codec's error (SNR, duration).
"""

from __future__ import annotations

import os
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hostile import encode_av
from genrekit.audio import AUDIO_EXTENSIONS, find_audio_files, load_audio, probe, read_spans, sniff, stream_audio
from genrekit.errors import (
    AudioError,
    CorruptAudioError,
    EmptyAudioError,
    UnsupportedAudioError,
)

SR = 44100


def music(seconds: float = 4.0, sr: int = SR, channels: int = 2) -> np.ndarray:
    """A gliding tone and its third harmonic (what a codec keeps well), ``(n, channels)`` float32."""
    t = np.arange(int(seconds * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * 220 * t * (1 + 0.1 * np.sin(t))) + 0.1 * np.sin(2 * np.pi * 660 * t)
    y = y.astype(np.float32)
    return np.stack([y, np.roll(y, 100)], axis=1) if channels == 2 else y


def pcm16(y: np.ndarray) -> np.ndarray:
    """``y`` as a 16-bit PCM file holds it, back as float32 (so a lossless codec can equal it exactly)."""
    return (np.clip(np.round(y * 32768.0), -32768, 32767) / 32768.0).astype(np.float32)


def snr_db(reference: np.ndarray, y: np.ndarray) -> float:
    n = min(len(reference), len(y))
    error = reference[:n] - y[:n]
    return float(10 * np.log10(np.sum(reference[:n] ** 2) / max(np.sum(error ** 2), 1e-30)))


def aligned_snr_db(reference: np.ndarray, y: np.ndarray, max_lag: int = 4096) -> tuple[float, int]:
    """The SNR after shifting ``y`` by the lag (samples, an encoder's delay) that best matches ``reference``."""
    n = min(len(reference), len(y)) - 2 * max_lag
    lags = range(-max_lag, max_lag + 1)
    core = reference[max_lag:max_lag + n]
    lag = max(lags, key=lambda k: float(np.dot(core, y[max_lag + k:max_lag + k + n])))
    return snr_db(core, y[max_lag + lag:max_lag + lag + n]), lag


def dominant_hz(y: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.argmax(spectrum) * sr / len(y))


@pytest.fixture
def wav_of(tmp_path: Path):
    """The same samples as a 16-bit WAV, decoded by libsndfile: the reference every PyAV decode is held to."""
    def make(y: np.ndarray, sr: int = SR) -> Path:
        path = tmp_path / "reference.wav"
        sf.write(path, y, sr, subtype="PCM_16")
        return path

    return make


# --- lossless and lossy decodes equal the WAV ------------------------------------------------------


@pytest.mark.parametrize("sample_format", ["s16p", "s32p"])
def test_alac_equals_the_wav_decode(tmp_path, wav_of, sample_format):
    y = pcm16(music())
    path = encode_av(tmp_path / "lossless.m4a", y, SR, "alac", sample_format=sample_format)
    info = probe(path)
    assert (info.format, info.subtype, info.sample_rate, info.channels, info.frames) == ("MP4", "ALAC", SR, 2, len(y))
    for sr in (SR, 22050):
        np.testing.assert_allclose(load_audio(path, sr), load_audio(wav_of(y), sr), rtol=0, atol=1e-7)


@pytest.mark.parametrize("name, kwargs", [
    ("song.m4a", {}),
    ("clip.mp4", {"video": True}),  # an audio track beside a video track
    ("book.m4b", {"options": {"movflags": "faststart"}}),  # the index before the audio
])
def test_aac_in_mp4_matches_the_wav_within_codec_error(tmp_path, wav_of, name, kwargs):
    y = pcm16(music())
    path = encode_av(tmp_path / name, y, SR, "aac", **kwargs)
    info = probe(path)
    assert (info.format, info.subtype, info.channels) == ("MP4", "AAC", 2)
    assert info.frames == len(y)  # the edit list's exact length
    got, reference = load_audio(path, 22050), load_audio(wav_of(y), 22050)
    assert len(got) == len(reference)  # the encoder's priming and padding are trimmed
    assert snr_db(reference, got) > 20  # aligned as decoded: no delay left to correct


LOSSY = [  # (file name, encoder, options, native rate, lowest SNR after alignment; None: check the pitch only)
    ("voice.wma", "wmav2", {"bit_rate": 128000}, SR, 15.0),
    ("clip.webm", "libopus", {}, 48000, 15.0),
    ("film.mkv", "aac", {}, SR, 20.0),
    ("raw.aac", "aac", {}, SR, 20.0),
    ("dolby.ac3", "ac3", {}, SR, 15.0),
    ("dolby.eac3", "eac3", {}, SR, 15.0),
    ("phone.amr", "libopencore_amrnb", {"bit_rate": 12200}, 8000, None),
]


@pytest.mark.parametrize("name, codec, kwargs, native, min_snr", LOSSY, ids=[c[0] for c in LOSSY])
def test_lossy_containers_decode_to_the_same_audio(tmp_path, name, codec, kwargs, native, min_snr):
    y = pcm16(music(3.0, native, channels=1))
    path = encode_av(tmp_path / name, y, native, codec, **kwargs)
    got = load_audio(path, native)
    assert abs(len(got) - len(y)) <= 0.1 * native  # within the codec's delay and padding
    if min_snr is None:
        tone = encode_av(tmp_path / f"tone{path.suffix}", 0.5 * np.sin(2 * np.pi * 440 * np.arange(3 * native) / native),
                         native, codec, **kwargs)
        assert abs(dominant_hz(load_audio(tone, native), native) - 440) < 5
    else:
        snr, _ = aligned_snr_db(y, got)
        assert snr > min_snr


@pytest.mark.parametrize("name, codec, kwargs", [
    ("lossless.wv", "wavpack", {"sample_format": "s16p"}),
    ("lossless.tta", "tta", {"sample_format": "s16"}),
    ("flac.mka", "flac", {}),
])
def test_other_lossless_containers_equal_the_wav(tmp_path, wav_of, name, codec, kwargs):
    y = pcm16(music(2.0))
    path = encode_av(tmp_path / name, y, SR, codec, **kwargs)
    np.testing.assert_allclose(load_audio(path, 22050), load_audio(wav_of(y), 22050), rtol=0, atol=1e-7)


def test_the_content_decides_not_the_name(tmp_path, wav_of):
    y = pcm16(music(2.0))
    real = encode_av(tmp_path / "song.m4a", y, SR, "alac", sample_format="s16p")
    renamed = real.rename(tmp_path / "misnamed.mp3")
    np.testing.assert_allclose(load_audio(renamed, 22050), load_audio(wav_of(y), 22050), atol=1e-7)


def test_a_name_that_is_not_utf8_decodes(tmp_path):
    y = pcm16(music(1.0))
    plain = encode_av(tmp_path / "plain.m4a", y, SR, "alac", sample_format="s16p")
    odd = Path(os.fsdecode(os.fsencode(str(tmp_path)) + b"/caf\xe9-\xff.m4a"))
    os.rename(plain, odd)
    (found,) = find_audio_files([tmp_path])
    assert found == odd and len(load_audio(found, SR)) == len(y)


def test_folder_searches_find_the_formats_pyav_reads():
    assert {".m4a", ".m4b", ".mp4", ".aac", ".wma", ".webm", ".mkv", ".mka", ".ac3", ".amr", ".wv",
            ".tta"} <= AUDIO_EXTENSIONS


# --- streaming and spans ----------------------------------------------------------------------------


@pytest.mark.parametrize("name, codec, kwargs", [
    ("a.m4a", "aac", {}), ("b.m4a", "alac", {"sample_format": "s16p"}), ("c.mkv", "aac", {}),
    ("d.webm", "libopus", {}),
])
def test_streamed_blocks_join_to_load_audio(tmp_path, name, codec, kwargs):
    native = 48000 if codec == "libopus" else SR
    path = encode_av(tmp_path / name, music(3.0, native), native, codec, **kwargs)
    whole = load_audio(path, 16000)
    blocks = list(stream_audio(path, 16000, block_seconds=0.3))
    assert len(blocks) > 5 and all(len(b) for b in blocks)
    np.testing.assert_array_equal(np.concatenate(blocks), whole)


@pytest.mark.parametrize("name, codec", [("seeks.m4a", "aac"), ("decodes-forward.mkv", "aac"),
                                         ("lossless.m4a", "alac")])
def test_offset_and_duration_cut_exactly(tmp_path, name, codec):
    kwargs = {"sample_format": "s16p"} if codec == "alac" else {}
    path = encode_av(tmp_path / name, music(6.0), SR, codec, **kwargs)
    whole = load_audio(path, SR)
    part = load_audio(path, SR, offset=2.5, duration=1.5)
    start = int(round(2.5 * SR))
    np.testing.assert_allclose(part, whole[start:start + len(part)], rtol=0, atol=1e-4)
    assert len(part) == int(round(1.5 * SR))


# Measured: AAC decoded after a seek differs from the full decode by ~4e-6 (the decoder's state after the
# preroll); ALAC and everything decoded forward match to float rounding.
SPAN_TOLERANCE = 1e-4


@pytest.mark.parametrize("name, codec, native", [
    ("seeks.m4a", "aac", SR), ("seeks.mp4", "alac", SR), ("forward.mkv", "aac", SR), ("forward.webm", "libopus", 48000),
    ("forward.wma", "wmav2", SR),
])
def test_span_reads_equal_the_same_spans_of_a_full_decode(tmp_path, name, codec, native):
    kwargs = {"sample_format": "s16p"} if codec == "alac" else {"bit_rate": 128000} if codec == "wmav2" else {}
    path = encode_av(tmp_path / name, music(10.0, native), native, codec, **kwargs)
    sr = 16000
    full = load_audio(path, sr)
    end = len(full) / sr
    spans = [(0.0, 2.976), (3.3, 2.976), (7.777, 1.0), (1.25, 2.0), (end - 2.0, 2.0), (end + 5.0, 1.0)]  # one back
    got = list(read_spans(path, sr, spans))
    assert [s for s, _ in got] == [int(round(start * sr)) / sr for start, _ in spans]
    for (start, length), (_, y) in zip(spans, got):
        first = int(round(start * sr))
        reference = full[first:first + int(round(length * sr))]
        assert y.dtype == np.float32 and len(y) == len(reference), (start, len(y), len(reference))
        np.testing.assert_allclose(y, reference, rtol=0, atol=SPAN_TOLERANCE, err_msg=f"span at {start} s")


def test_streaming_a_long_m4a_holds_about_one_block(tmp_path):
    """Three minutes of stereo ALAC, 63 MB as float32 frames: a streamed decode holds a few MB."""
    y = np.tile(pcm16(music(3.0)), (60, 1))
    path = encode_av(tmp_path / "long.m4a", y, SR, "alac", sample_format="s16p")
    whole_bytes = y.size * 4
    tracemalloc.start()
    try:
        n = sum(len(block) for block in stream_audio(path, 22050))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == len(y) // 2
    assert peak < whole_bytes / 10, f"peak {peak / 1e6:.1f} MB"


# --- hostile and broken files ---------------------------------------------------------------------------


@pytest.fixture
def good_m4a(tmp_path: Path) -> bytes:
    return encode_av(tmp_path / ".good.m4a", music(3.0), SR, "aac").read_bytes()


def test_a_truncated_m4a_is_corrupt(tmp_path, good_m4a):
    cut = tmp_path / "cut.m4a"  # the index (moov) is written last: cutting loses it
    cut.write_bytes(good_m4a[:len(good_m4a) // 2])
    with pytest.raises(CorruptAudioError, match="cut.m4a.*MP4/M4A container, but its header could not be read"):
        probe(cut)
    faststart = encode_av(tmp_path / ".fast.m4a", music(3.0), SR, "aac", options={"movflags": "faststart"})
    cut.write_bytes(faststart.read_bytes()[:len(faststart.read_bytes()) // 2])  # the index survives, audio does not
    assert probe(cut).frames == 3 * SR
    with pytest.raises(CorruptAudioError, match="truncated"):
        load_audio(cut)


def test_an_m4a_with_a_garbage_index_is_a_typed_error(tmp_path, good_m4a):
    at = good_m4a.index(b"moov")
    noise = np.random.default_rng(5).integers(0, 256, len(good_m4a) - at - 8, dtype=np.uint8).tobytes()
    path = tmp_path / "garbage-moov.m4a"
    path.write_bytes(good_m4a[:at + 4] + noise[:4] + noise[4:])
    with pytest.raises(AudioError, match="garbage-moov.m4a"):
        load_audio(path)


def test_text_and_empty_files_named_m4a_are_refused(tmp_path):
    text = tmp_path / "notes.m4a"
    text.write_text("These are my notes, not a song.\n" * 20)
    with pytest.raises(UnsupportedAudioError, match=r"not an audio file genrekit can read \(looks like text\)"):
        load_audio(text)
    empty = tmp_path / "empty.m4a"
    empty.write_bytes(b"")
    with pytest.raises(EmptyAudioError, match="0 bytes"):
        probe(empty)


def test_a_video_only_mp4_has_no_audio_track(tmp_path):
    path = encode_av(tmp_path / "silent-film.mp4", music(2.0), SR, video=True, audio=False)
    for call in (probe, load_audio):
        with pytest.raises(UnsupportedAudioError, match=r"MP4/M4A container with no audio track \(only video\)"):
            call(path)


def test_encrypted_aac_is_refused_by_its_sample_entry(tmp_path, good_m4a):
    path = tmp_path / "bought.m4p"
    path.write_bytes(good_m4a.replace(b"mp4a", b"drms", 1))
    with pytest.raises(UnsupportedAudioError, match=r"encrypted \(DRM\) audio"):
        probe(path)


@pytest.mark.parametrize("head, says", [
    (struct.pack(">I", 24) + b"ftypM4A \x00\x00\x02\x00M4A isom" + bytes(2000), "an MP4/M4A container, but"),
    (b"\x1a\x45\xdf\xa3" + bytes(2000), "a Matroska/WebM container, but"),
    (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11" + bytes(2000), "an ASF container (WMA/WMV), but"),
])
def test_a_container_header_and_nothing_else_is_corrupt(tmp_path, head, says):
    path = tmp_path / "fake.bin"
    path.write_bytes(head)
    with pytest.raises(CorruptAudioError) as info:
        probe(path)
    assert says in str(info.value) and "FFmpeg:" in str(info.value) and str(path) in str(info.value)


def test_adts_sync_bytes_with_no_audio_are_refused(tmp_path):
    path = tmp_path / "raw.aac"
    path.write_bytes(b"\xff\xf1\x50\x80" + bytes(2000))
    with pytest.raises(AudioError, match="raw.aac"):
        load_audio(path)


@pytest.mark.parametrize("name, codec", [("m.m4a", "aac"), ("m.webm", "libopus"), ("m.wma", "wmav2")])
def test_mutated_containers_give_a_signal_or_an_audio_error(tmp_path, name, codec, capfd):
    native = 48000 if codec == "libopus" else SR
    data = encode_av(tmp_path / f".good{Path(name).suffix}", music(1.0, native), native, codec,
                     **({"bit_rate": 128000} if codec == "wmav2" else {})).read_bytes()
    rng = np.random.default_rng(7)
    outcomes = set()
    for i in range(24):
        b = bytearray(data[: int(len(data) * rng.uniform(0.2, 1.0))] if i % 3 == 0 else data)
        for at in rng.integers(0, len(b), size=int(rng.integers(1, 30))):
            b[at] = int(rng.integers(0, 256))
        path = tmp_path / f"{i:02d}-{name}"
        path.write_bytes(bytes(b))
        try:
            y = load_audio(path)
            assert y.dtype == np.float32 and np.isfinite(y).all()
            outcomes.add("ok")
        except AudioError as error:
            assert str(path) in str(error)
            outcomes.add(type(error).__name__)
    assert outcomes - {"ok"}, outcomes  # the mutations do break files
    assert capfd.readouterr().err == ""  # FFmpeg's logging never reaches the terminal


# --- sniffing routes containers to PyAV ------------------------------------------------------------------


@pytest.mark.parametrize("name, codec, kind", [
    ("a.m4a", "aac", "mp4"), ("a.webm", "libopus", "matroska"), ("a.wma", "wmav2", "asf"), ("a.aac", "aac", "aac"),
    ("a.ac3", "ac3", "ac3"), ("a.eac3", "eac3", "eac3"), ("a.wv", "wavpack", "wavpack"), ("a.tta", "tta", "tta"),
])
def test_containers_sniff_as_audio_pyav_decodes(tmp_path, name, codec, kind):
    from genrekit.audio.sniff import PYAV_KINDS

    native = 48000 if codec == "libopus" else SR
    options = {"wmav2": {"bit_rate": 128000}, "wavpack": {"sample_format": "s16p"}, "tta": {"sample_format": "s16"}}
    path = encode_av(tmp_path / name, music(0.5, native), native, codec, **options.get(codec, {}))
    found = sniff(path.read_bytes()[:4096])
    assert found.category == "audio" and found.kind == kind and kind in PYAV_KINDS
