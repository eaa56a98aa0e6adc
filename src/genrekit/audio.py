"""Decode any common audio file into a mono float32 signal at one sample rate.

Decoding goes through libsndfile (``soundfile``: wav, flac, ogg/vorbis, opus,
mp3, au/snd, aiff, ...), resampling through ``soxr`` at the quality librosa
uses by default (``soxr_hq``), and downmixing averages the channels, so
``load_audio(path)`` gives the same samples as ``librosa.load(path)``.
Failures raise the typed errors of :mod:`genrekit.errors`, each naming the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from genrekit.errors import (
    AudioError,
    AudioNotFoundError,
    AudioTooShortError,
    CorruptAudioError,
    ConfigError,
    EmptyAudioError,
    NonFiniteAudioError,
    UnsupportedAudioError,
)

DEFAULT_SAMPLE_RATE = 22050
"""The sample rate every feature set and model in genrekit works at unless told otherwise."""

AUDIO_EXTENSIONS = frozenset(
    {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".au", ".snd", ".aif", ".aiff", ".aifc", ".w64", ".caf"}
)
"""File name endings treated as audio when a folder is searched."""

# A decoder that delivers less than this share of the frames the header
# announces has met a truncated or damaged stream.
_TRUNCATION_TOLERANCE = 0.99


def to_mono(y: np.ndarray) -> np.ndarray:
    """Average the channels of a ``(samples, channels)`` array (librosa's downmix)."""
    if y.ndim == 1:
        return y
    return y.mean(axis=1, dtype=np.float32) if y.dtype == np.float32 else y.mean(axis=1)


def resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample a mono signal with soxr's high-quality filter (librosa's default)."""
    if orig_sr == target_sr:
        return y
    import soxr

    return soxr.resample(y, orig_sr, target_sr, quality="HQ").astype(np.float32, copy=False)


def _read(path: Path, offset: float, duration: float | None) -> tuple[np.ndarray, int]:
    """Read a slice of a file as float32 ``(samples, channels)`` plus its native rate."""
    import soundfile as sf

    try:
        with sf.SoundFile(str(path)) as f:
            native_sr = f.samplerate
            start = int(round(offset * native_sr))
            declared = max(f.frames - start, 0) if f.frames > 0 else -1
            wanted = -1 if duration is None else int(round(duration * native_sr))
            if start > 0:
                if f.seekable():
                    f.seek(min(start, f.frames))
                else:  # pragma: no cover - libsndfile seeks every format we list
                    f.read(start, dtype="float32")
            y = f.read(frames=wanted, dtype="float32", always_2d=True)
    except sf.LibsndfileError as error:
        text = str(error)
        if "Format not recognised" in text or "not recognised" in text.lower():
            raise UnsupportedAudioError(path, text) from error
        raise CorruptAudioError(path, text) from error
    except RuntimeError as error:  # older soundfile raised plain RuntimeError
        raise CorruptAudioError(path, str(error)) from error

    expected = declared if wanted < 0 else min(wanted, declared) if declared >= 0 else wanted
    if expected > 0 and y.shape[0] < _TRUNCATION_TOLERANCE * expected:
        raise CorruptAudioError(
            path, f"decoded {y.shape[0]} of {expected} frames the header announces; the file is truncated or damaged"
        )
    return y, native_sr


def load_audio(
    path: str | os.PathLike[str],
    sr: int = DEFAULT_SAMPLE_RATE,
    *,
    offset: float = 0.0,
    duration: float | None = None,
) -> np.ndarray:
    """Decode ``path`` to a mono float32 signal at ``sr`` Hz.

    Parameters
    ----------
    path : audio file in any format libsndfile reads.
    sr : target sample rate in Hz; ``None`` is not accepted: genrekit always
        works at a known rate.
    offset : seconds to skip at the start.
    duration : seconds to read after ``offset``; ``None`` reads to the end.

    Returns
    -------
    y : np.ndarray, shape ``(n_samples,)``, float32.

    Raises
    ------
    AudioNotFoundError, UnsupportedAudioError, CorruptAudioError,
    EmptyAudioError, NonFiniteAudioError
    """
    path = Path(path)
    if offset < 0 or (duration is not None and duration <= 0):
        raise ValueError("offset must be >= 0 and duration > 0")
    if not path.is_file():
        raise AudioNotFoundError(path)
    if path.stat().st_size == 0:
        raise EmptyAudioError(path, "the file is 0 bytes long")

    y, native_sr = _read(path, offset, duration)
    if y.shape[0] == 0:
        raise EmptyAudioError(path, "the file decodes to 0 samples" if offset == 0 else f"nothing after {offset} s")
    if not np.isfinite(y).all():
        bad = int(np.size(y) - np.isfinite(y).sum())
        raise NonFiniteAudioError(path, f"{bad} of {y.size} samples are NaN or infinite")
    y = to_mono(y)
    y = resample(np.ascontiguousarray(y), native_sr, sr)
    return np.ascontiguousarray(y, dtype=np.float32)


@dataclass(frozen=True)
class Windowing:
    """How a signal is cut into analysis windows.

    ``window=None`` means one window over the whole signal (one row per file);
    otherwise windows of ``window`` seconds start every ``hop`` seconds
    (``hop`` defaults to ``window``: no overlap). When the regular windows
    leave at least ``min_fraction`` of a hop uncovered at the end, one more
    window is aligned to the end of the signal, so the last seconds of a song
    are heard too. A signal shorter than one window but at least
    ``min_fraction`` of it yields a single, shorter window.
    """

    window: float | None = None
    hop: float | None = None
    min_fraction: float = 0.5

    def __post_init__(self) -> None:
        if self.window is not None and self.window <= 0:
            raise ConfigError(f"window must be > 0 seconds, got {self.window}")
        if self.hop is not None and self.hop <= 0:
            raise ConfigError(f"hop must be > 0 seconds, got {self.hop}")

    def starts(self, n_samples: int, sr: int) -> list[tuple[int, int]]:
        """``(start, stop)`` sample indices of each window over ``n_samples``."""
        if n_samples <= 0:
            return []
        if self.window is None:
            return [(0, n_samples)]
        length = int(round(self.window * sr))
        hop = int(round((self.hop or self.window) * sr))
        if n_samples < length:
            return [(0, n_samples)] if n_samples >= self.min_fraction * length else []
        bounds = [(s, s + length) for s in range(0, n_samples - length + 1, hop)]
        if n_samples - bounds[-1][1] >= self.min_fraction * hop:
            bounds.append((n_samples - length, n_samples))
        return bounds

    def as_dict(self) -> dict[str, float | None]:
        return {"window": self.window, "hop": self.hop if self.window is None else (self.hop or self.window)}


def cut_windows(
    y: np.ndarray, sr: int, windowing: Windowing, path: str | os.PathLike[str] = "<signal>"
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield ``(start_seconds, samples)`` for each analysis window of ``y``.

    Raises :class:`AudioTooShortError` when ``y`` holds no full window.
    """
    bounds = windowing.starts(len(y), sr)
    if not bounds:
        raise AudioTooShortError(path, f"{len(y) / sr:.3f} s of audio, windows are {windowing.window} s")
    for start, stop in bounds:
        yield start / sr, y[start:stop]


def is_audio_file(path: Path) -> bool:
    return path.suffix.lower() in AUDIO_EXTENSIONS and not path.name.startswith(".")


def find_audio_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Expand files and folders (searched recursively) into a sorted list of audio files.

    Files named explicitly are kept whatever their ending, so that a user who
    names a broken or oddly named file gets an error for it rather than silence.
    """
    found: list[Path] = []
    for item in paths:
        p = Path(item)
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("*") if f.is_file() and is_audio_file(f)))
        else:
            found.append(p)
    return found


__all__ = [
    "AUDIO_EXTENSIONS",
    "DEFAULT_SAMPLE_RATE",
    "AudioError",
    "Windowing",
    "cut_windows",
    "find_audio_files",
    "is_audio_file",
    "load_audio",
    "resample",
    "to_mono",
]
