"""Decoding, downmixing, resampling and windowing (genrekit.audio)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from synth import sine
from genrekit.audio import Windowing, cut_windows, find_audio_files, load_audio
from genrekit.errors import (
    AudioError,
    AudioNotFoundError,
    AudioTooShortError,
    CorruptAudioError,
    EmptyAudioError,
    NonFiniteAudioError,
    UnsupportedAudioError,
)

# (file ending, soundfile keyword arguments, whether the codec is lossy)
FORMATS = [
    ("wav", {"subtype": "PCM_16"}, False),
    ("flac", {}, False),
    ("ogg", {"format": "OGG", "subtype": "VORBIS"}, True),
    ("opus", {"format": "OGG", "subtype": "OPUS"}, True),
    ("mp3", {"format": "MP3"}, True),
    ("au", {"format": "AU", "subtype": "PCM_16"}, False),
    ("aiff", {"format": "AIFF", "subtype": "PCM_16"}, False),
]


@pytest.mark.parametrize("ext,kwargs,lossy", FORMATS, ids=[f[0] for f in FORMATS])
def test_every_format_decodes_to_the_same_tone(write_audio, ext, kwargs, lossy):
    sr = 48000 if ext == "opus" else 22050  # opus only encodes at 8/12/16/24/48 kHz
    y = sine(440.0, seconds=1.0, sr=sr, amplitude=0.4)
    path = write_audio(f"tone.{ext}", y, sr, **kwargs)

    out = load_audio(path)

    assert out.dtype == np.float32 and out.ndim == 1
    # Lossy codecs add priming samples, so allow a little slack in length.
    assert abs(len(out) - 22050) <= (2500 if lossy else 1)
    spectrum = np.abs(np.fft.rfft(out))
    peak_hz = np.argmax(spectrum) * 22050 / len(out)
    assert abs(peak_hz - 440.0) < 3.0
    rms = float(np.sqrt(np.mean(out[2000:-2000] ** 2)))
    assert rms == pytest.approx(0.4 / np.sqrt(2), rel=0.1 if lossy else 0.01)


def test_pcm_wav_round_trips_exactly(write_audio):
    y = sine(220.0, seconds=0.5)
    out = load_audio(write_audio("x.wav", y, subtype="FLOAT"))
    np.testing.assert_array_equal(out, y)


@pytest.mark.parametrize("channels", [2, 6])
def test_multichannel_is_averaged_to_mono(write_audio, channels):
    rng = np.random.default_rng(1)
    y = rng.uniform(-0.3, 0.3, (11025, channels)).astype(np.float32)
    out = load_audio(write_audio("multi.wav", y, subtype="FLOAT"))
    np.testing.assert_allclose(out, y.mean(axis=1), atol=1e-7)


@pytest.mark.parametrize("native_sr", [8000, 11025, 16000, 32000, 44100, 48000, 96000])
def test_any_rate_is_resampled_like_librosa(write_audio, native_sr):
    import librosa

    y = sine(1000.0, seconds=1.0, sr=native_sr, amplitude=0.3)
    path = write_audio(f"r{native_sr}.wav", y, native_sr, subtype="FLOAT")

    out = load_audio(path)
    reference, _ = librosa.load(str(path), sr=22050)

    assert len(out) == int(np.ceil(native_sr * 1.0 * 22050 / native_sr))
    np.testing.assert_allclose(out, reference, atol=1e-6)


def test_target_rate_is_configurable(write_audio):
    out = load_audio(write_audio("a.wav", sine(440.0, seconds=1.0)), sr=16000)
    assert len(out) == 16000


def test_matches_librosa_load_on_a_real_recording(examples_dir):
    import librosa

    path = examples_dir / "jazz_kevin_macleod_vibe_ace.ogg"
    ours = load_audio(path, offset=10.0, duration=5.0)
    theirs, _ = librosa.load(str(path), sr=22050, offset=10.0, duration=5.0)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_offset_and_duration_select_the_right_samples(write_audio):
    y = np.linspace(-1, 1, 22050 * 3, dtype=np.float32)
    path = write_audio("ramp.wav", y, subtype="FLOAT")
    out = load_audio(path, offset=1.0, duration=0.5)
    np.testing.assert_array_equal(out, y[22050 : 22050 + 11025])


def test_one_sample_file_decodes_but_holds_no_window(write_audio):
    path = write_audio("one.wav", np.array([0.25], dtype=np.float32), subtype="FLOAT")
    out = load_audio(path)
    assert out.shape == (1,)
    with pytest.raises(AudioTooShortError, match="one.wav"):
        list(cut_windows(out, 22050, Windowing(window=3.0), path))


def test_silent_file_is_valid_audio(write_audio):
    out = load_audio(write_audio("silence.flac", np.zeros(22050, dtype=np.float32)))
    assert out.shape == (22050,) and not out.any()


def test_nan_samples_are_rejected_with_a_count(write_audio):
    y = sine(440.0, seconds=0.2)
    y[[10, 20, 30]] = np.nan
    y[40] = np.inf
    path = write_audio("nan.wav", y, subtype="FLOAT")
    with pytest.raises(NonFiniteAudioError, match=r"4 of \d+ samples"):
        load_audio(path)


def test_missing_file(tmp_path):
    with pytest.raises(AudioNotFoundError, match="nope.wav"):
        load_audio(tmp_path / "nope.wav")


def test_zero_length_file(tmp_path):
    path = tmp_path / "empty.mp3"
    path.write_bytes(b"")
    with pytest.raises(EmptyAudioError, match="0 bytes"):
        load_audio(path)


def test_random_bytes_are_not_audio(tmp_path):
    path = tmp_path / "noise.wav"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(UnsupportedAudioError, match="noise.wav"):
        load_audio(path)


def test_truncated_mp3_is_reported(write_audio):
    path = write_audio("song.mp3", sine(330.0, seconds=6.0), format="MP3")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(CorruptAudioError, match="truncated"):
        load_audio(path)


def test_every_error_names_the_file_and_is_an_audio_error(tmp_path):
    path = tmp_path / "garbage.flac"
    path.write_bytes(b"not a flac file at all" * 10)
    with pytest.raises(AudioError) as info:
        load_audio(path)
    assert str(path) in str(info.value)


def test_windowing_covers_the_signal_without_partial_windows():
    w = Windowing(window=3.0, hop=1.5)
    bounds = w.starts(22050 * 10, 22050)
    assert bounds[0] == (0, 66150)
    assert all(stop - start == 66150 for start, stop in bounds)
    # starts at 0, 1.5, ..., 6.0 s leave 9-10 s uncovered: one more window ends at 10 s
    assert [start / 22050 for start, _ in bounds] == [0.0, 1.5, 3.0, 4.5, 6.0, 7.0]
    assert bounds[-1][1] == 22050 * 10
    assert Windowing().starts(1234, 22050) == [(0, 1234)]


def test_a_tiny_tail_adds_no_window():
    # GTZAN clips are 30.013 s: 30 s windows must not get a near-duplicate second window
    assert Windowing(window=30.0).starts(661794, 22050) == [(0, 661500)]
    assert len(Windowing(window=3.0).starts(661794, 22050)) == 10


def test_a_long_tail_gets_an_end_aligned_window():
    bounds = Windowing(window=30.0).starts(22050 * 45, 22050)
    assert bounds == [(0, 22050 * 30), (22050 * 15, 22050 * 45)]


def test_windows_keep_a_short_clip_that_is_most_of_one_window():
    w = Windowing(window=30.0)
    assert w.starts(22050 * 29, 22050) == [(0, 22050 * 29)]
    assert w.starts(22050 * 10, 22050) == []


def test_cut_windows_yields_start_times():
    y = np.arange(22050 * 4, dtype=np.float32)
    pieces = list(cut_windows(y, 22050, Windowing(window=2.0, hop=1.0)))
    assert [start for start, _ in pieces] == [0.0, 1.0, 2.0]
    assert pieces[1][1][0] == 22050


def test_find_audio_files_searches_folders_recursively(tmp_path: Path, write_audio):
    write_audio("a/one.wav", sine(440.0, seconds=0.1))
    write_audio("a/b/two.flac", sine(440.0, seconds=0.1))
    (tmp_path / "a" / "notes.txt").write_text("not audio")
    (tmp_path / "a" / ".hidden.wav").write_bytes(b"")
    named = tmp_path / "named.dat"
    named.write_bytes(b"x")
    found = find_audio_files([tmp_path / "a", named])
    assert [p.name for p in found] == ["two.flac", "one.wav", "named.dat"]  # sorted by path: a/b/ < a/one
