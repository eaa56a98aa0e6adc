"""Decoding, downmixing and resampling (genrekit.audio.decode): what works, and every way a file can be hostile."""

from __future__ import annotations

import os
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from synth import sine, white_noise
from genrekit.audio import (
    MAX_CHANNELS,
    AudioInfo,
    Windowing,
    cut_windows,
    load_audio,
    probe,
    stream_audio,
    stream_windows,
)
from genrekit.errors import (
    AudioError,
    AudioNotFoundError,
    AudioTooShortError,
    ConfigError,
    CorruptAudioError,
    EmptyAudioError,
    InputFailedError,
    NonFiniteAudioError,
    UnreadableAudioError,
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


@pytest.mark.parametrize("channels", [1, 2, 3, 5, 8, 9, 12])
def test_downmix_gives_the_bits_of_numpys_mean(channels):
    from genrekit.audio.signal import to_mono

    y = np.random.default_rng(channels).standard_normal((4099, channels)).astype(np.float32)
    out = to_mono(y)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, y.mean(axis=1, dtype=np.float32))  # librosa's downmix, to the bit


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




# --- one code path: load_audio is stream_audio's blocks joined --------------------------------


@pytest.mark.parametrize("ext,kwargs,lossy", FORMATS, ids=[f[0] for f in FORMATS])
@pytest.mark.parametrize("block_seconds", [0.05, 0.37, 4.0])
def test_streamed_blocks_join_to_exactly_load_audio(write_audio, ext, kwargs, lossy, block_seconds):
    sr = 48000 if ext == "opus" else 44100
    path = write_audio(f"tone.{ext}", sine(440.0, seconds=1.5, sr=sr, amplitude=0.4), sr, **kwargs)
    blocks = list(stream_audio(path, block_seconds=block_seconds))
    assert all(b.dtype == np.float32 and b.ndim == 1 and len(b) for b in blocks)
    np.testing.assert_array_equal(np.concatenate(blocks), load_audio(path))


def test_streaming_with_offset_and_duration_matches_load_audio(write_audio):
    path = write_audio("n.flac", white_noise(4.0, sr=32000), 32000)
    whole = load_audio(path, offset=1.25, duration=2.0)
    streamed = np.concatenate(list(stream_audio(path, offset=1.25, duration=2.0, block_seconds=0.3)))
    np.testing.assert_array_equal(streamed, whole)
    assert len(whole) == 2 * 22050


def test_stream_audio_refuses_a_bad_file_at_once_not_at_first_block(tmp_path):
    with pytest.raises(AudioNotFoundError):
        stream_audio(tmp_path / "missing.wav")  # no next(): the probe runs at the call


@pytest.mark.parametrize("kwargs", [{"sr": 0}, {"sr": None}, {"sr": 22050.5}, {"sr": 10**9},
                                    {"offset": -1.0}, {"offset": float("nan")}, {"duration": 0.0},
                                    {"block_seconds": 0.0}])
def test_bad_arguments_are_config_errors(write_audio, kwargs):
    path = write_audio("a.wav", sine(440.0, seconds=0.2))
    with pytest.raises(ConfigError):
        stream_audio(path, **kwargs)


def test_offset_past_the_end_is_empty(write_audio):
    path = write_audio("a.wav", sine(440.0, seconds=1.0))
    with pytest.raises(EmptyAudioError, match="nothing after 5.0 s"):
        load_audio(path, offset=5.0)


# --- probe -------------------------------------------------------------------------------------


def test_probe_reads_the_header(write_audio):
    path = write_audio("st.flac", np.zeros((44100, 2), np.float32), 44100)
    info = probe(path)
    assert info == AudioInfo(path, 44100, 2, 44100, 1.0, "FLAC", "PCM_16")


def test_probe_and_load_take_a_name_that_is_not_utf8(tmp_path):
    name = os.fsdecode(b"\xff\xfe.wav")  # surrogate-escaped, as the OS hands it over
    path = tmp_path / name
    sf.write(os.fsencode(path), sine(440.0, seconds=1.0), 22050)
    assert probe(path).frames == 22050
    assert load_audio(path).shape == (22050,)
    assert load_audio(os.fsencode(path)).shape == (22050,)  # bytes paths too


def _wav_bytes(y: np.ndarray, sr: int = 22050, subtype: str = "PCM_16") -> bytes:
    import io

    buf = io.BytesIO()
    sf.write(buf, y, sr, format="WAV", subtype=subtype)
    return buf.getvalue()


def _patched_wav(tmp_path: Path, name: str, *, rate: int | None = None, channels: int | None = None,
                 data_size: int | None = None, seconds: float = 0.5) -> Path:
    data = bytearray(_wav_bytes(sine(440.0, seconds=seconds)))
    assert data[12:16] == b"fmt " and data[36:40] == b"data"
    if channels is not None:
        data[22:24] = struct.pack("<H", channels)
    if rate is not None:
        data[24:28] = struct.pack("<I", rate)
    if data_size is not None:
        data[40:44] = struct.pack("<I", data_size)
    path = tmp_path / name
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("rate", [0, 1, 999, 10**9])
def test_a_header_sample_rate_out_of_range_is_refused_before_decoding(tmp_path, rate):
    path = _patched_wav(tmp_path, f"r{rate}.wav", rate=rate)
    for call in (probe, load_audio):
        with pytest.raises(UnsupportedAudioError, match=rf"unsupported sample rate {rate} Hz \(genrekit reads "
                                                        r"1000-768000 Hz\); the WAV header declares") as info:
            call(path)
        assert str(path) in str(info.value) and "SF_INFO" not in str(info.value)


def test_a_wav_declaring_thousands_of_channels_is_refused(tmp_path):
    path = _patched_wav(tmp_path, "many.wav", channels=65535)
    with pytest.raises(UnsupportedAudioError, match="unsupported channel count 65535"):
        probe(path)


def test_an_au_declaring_100000_channels_is_refused(tmp_path):
    header = struct.pack(">4sIIIII", b".snd", 24, 4000, 3, 22050, 100000)
    path = tmp_path / "many.au"
    path.write_bytes(header + bytes(4000))
    with pytest.raises(UnsupportedAudioError, match=rf"unsupported channel count 100000 \(genrekit reads 1-{MAX_CHANNELS}"):
        load_audio(path)


def test_a_wav_claiming_billions_of_frames_is_corrupt_not_a_memory_error(tmp_path):
    path = _patched_wav(tmp_path, "huge.wav", data_size=0xFFFFFFF0)
    with pytest.raises(CorruptAudioError, match="4294967280 bytes"):
        load_audio(path)


def test_an_mp3_claiming_billions_of_frames_is_corrupt_not_a_memory_error(write_audio):
    path = write_audio("huge.mp3", sine(330.0, seconds=2.0), format="MP3")
    data = bytearray(path.read_bytes())
    xing = data.find(b"Xing") if b"Xing" in data else data.find(b"Info")
    assert xing > 0 and data[xing + 7] & 1  # the frame-count field is present
    data[xing + 8:xing + 12] = struct.pack(">I", 0x7FFFFFFF)
    path.write_bytes(bytes(data))
    for call in (probe, load_audio):
        with pytest.raises(CorruptAudioError, match=r"the header announces \d+ frames, \d+\.\d h .* at most 24 h"):
            call(path)


def test_a_truncated_wav_is_reported_though_libsndfile_accepts_it(tmp_path):
    data = _wav_bytes(sine(440.0, seconds=30.0))
    path = tmp_path / "cut.wav"
    path.write_bytes(data[: 44 + 22050 * 2])  # the header promises 30 s, 1 s is there
    for call in (probe, load_audio):
        with pytest.raises(CorruptAudioError, match=r"30\.00 s announced, 1\.00 s present.*truncated"):
            call(path)


def test_a_wav_with_a_streaming_placeholder_size_is_read(tmp_path):
    path = _patched_wav(tmp_path, "stream.wav", data_size=0xFFFFFFFF)  # what a writer to a pipe leaves
    assert len(load_audio(path)) == 11025


def test_a_truncated_mp3_stream_is_corrupt(write_audio):
    path = write_audio("song.mp3", sine(330.0, seconds=6.0), format="MP3")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(CorruptAudioError, match=r"decoded \d+ of \d+ frames the header announces"):
        list(stream_audio(path))


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_float_wav_is_refused_while_streaming(write_audio, value):
    y = sine(440.0, seconds=10.0)
    y[22050 * 7 + 5] = value
    path = write_audio("bad.wav", y, subtype="FLOAT")
    blocks = stream_audio(path, block_seconds=1.0)
    with pytest.raises(NonFiniteAudioError, match=r"1 of 22050 samples in the block at 7\.00 s"):
        list(blocks)


# --- what is not an audio file -----------------------------------------------------------------


def test_a_folder_is_unreadable_not_missing(tmp_path):
    (tmp_path / "album.wav").mkdir()
    with pytest.raises(UnreadableAudioError, match="it is a folder"):
        probe(tmp_path / "album.wav")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")
def test_a_device_is_unreadable():
    with pytest.raises(UnreadableAudioError, match="it is a device"):
        load_audio("/dev/zero")


def test_a_named_pipe_is_unreadable_and_does_not_block(tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    with pytest.raises(UnreadableAudioError, match="named pipe"):
        probe(fifo)


def test_permission_denied_is_unreadable(write_audio, monkeypatch):
    path = write_audio("locked.wav", sine(440.0, seconds=0.2))
    if os.geteuid() != 0:
        path.chmod(0)
    else:  # root reads anything: make the open fail as it would for a user
        real_open = os.open

        def denying_open(file, flags, *args, **kwargs):
            if os.fsdecode(file) == str(path):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(file, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", denying_open)
    try:
        with pytest.raises(UnreadableAudioError, match="permission denied"):
            load_audio(path)
    finally:
        path.chmod(0o644)


def test_an_unreadable_folder_on_the_way_is_reported(tmp_path, monkeypatch):
    path = tmp_path / "x.wav"
    real_stat = os.stat

    def denying_stat(p, *args, **kwargs):
        if os.fspath(p) == str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(p, *args, **kwargs)

    monkeypatch.setattr(os, "stat", denying_stat)
    with pytest.raises(UnreadableAudioError, match="permission denied"):
        probe(path)


def test_a_path_through_a_file_is_not_found(write_audio):
    path = write_audio("a.wav", sine(440.0, seconds=0.2))
    with pytest.raises(AudioNotFoundError):
        probe(path / "inner.wav")


# --- decoder failures become typed errors --------------------------------------------------------


@pytest.mark.parametrize("raised, expected, text", [
    (RuntimeError("boom"), CorruptAudioError, r"decoding failed at 0\.50 s \(RuntimeError: boom\)"),
    (sf.LibsndfileError(2), CorruptAudioError, r"decoding failed at 0\.50 s"),
    (MemoryError(), InputFailedError, "out of memory while decoding at 0.50 s"),
])
def test_an_exception_inside_the_decoder_becomes_a_typed_error(write_audio, monkeypatch, raised, expected, text):
    path = write_audio("a.wav", sine(440.0, seconds=2.0))
    real_read = sf.SoundFile.read
    calls = []

    def flaky_read(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise raised
        return real_read(self, *args, **kwargs)

    monkeypatch.setattr(sf.SoundFile, "read", flaky_read)
    with pytest.raises(expected, match=text) as info:
        list(stream_audio(path, block_seconds=0.5))
    assert str(path) in str(info.value)


# --- too short for whole-file analysis -----------------------------------------------------------


def test_a_one_sample_file_gives_no_whole_file_row(write_audio):
    path = write_audio("one.wav", np.array([0.25], dtype=np.float32), subtype="FLOAT")
    with pytest.raises(AudioTooShortError, match="whole-file analysis needs at least 1 s"):
        list(cut_windows(load_audio(path), 22050, Windowing(), path))


def test_a_twentieth_of_a_second_mp3_gives_no_whole_file_row(write_audio):
    path = write_audio("blip.mp3", sine(440.0, seconds=0.05), format="MP3")
    with pytest.raises(AudioTooShortError, match="blip.mp3"):
        list(stream_windows(stream_audio(path), 22050, Windowing(), path))


# --- memory ----------------------------------------------------------------------------------------


def test_streaming_a_long_file_holds_about_one_window(tmp_path):
    """Ten minutes at 16 kHz resampled to 22050 Hz: 53 MB as one signal, a few MB streamed."""
    path = tmp_path / "long.wav"
    with sf.SoundFile(path, "w", 16000, 1, "PCM_16") as f:
        chunk = sine(220.0, seconds=10.0, sr=16000)
        for _ in range(60):
            f.write(chunk)
    whole_bytes = 600 * 22050 * 4
    tracemalloc.start()
    try:
        n = 0
        for _, window in stream_windows(stream_audio(path), 22050, Windowing(window=3.0, hop=1.5), path):
            n += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 399
    assert peak < whole_bytes / 10, f"peak {peak / 1e6:.1f} MB"


@pytest.mark.parametrize("sr", [22050, 44100])
def test_mp3_blocks_end_on_frame_boundaries_so_streaming_equals_one_read(write_audio, sr):
    """libsndfile's MP3 reader damages the samples after a read that ends inside a frame of a low-bitrate file."""
    path = write_audio("low.mp3", sine(440.0, seconds=3.0, sr=sr, amplitude=0.4), sr, format="MP3")
    one_read, native = sf.read(path, dtype="float32")
    assert native == sr
    streamed = np.concatenate(list(stream_audio(path, sr, block_seconds=0.1)))
    np.testing.assert_allclose(streamed, one_read, atol=1e-6)
