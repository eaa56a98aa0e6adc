"""Per-frame features of a signal, for drawing them over time (reports, notebooks).

``frame_features(y, sr)`` returns the frame-level rows the feature sets pool
(log-mel spectrogram, MFCCs, zero-crossing rate, spectral centroid, RMS,
onset strength) with their frame times, from one STFT and without librosa.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genrekit.features.rhythm import onset_strength
from genrekit.features.spectral import rms, spectral_centroid, zero_crossing_rate
from genrekit.features.spectrogram import N_MELS, Spectrogram, frame_times, hz_to_mel, mel_to_hz


@dataclass(frozen=True)
class FrameFeatures:
    """Frame-level features of one signal; every ``(…, n_frames)`` array shares ``times``."""

    times: np.ndarray
    """Centre of each frame in seconds ``(n_frames,)``."""
    mel_frequencies: np.ndarray
    """Centre frequency of each mel band in Hz ``(n_mels,)``."""
    mel_db: np.ndarray
    """Log-mel power spectrogram in dB re 1.0, top 80 dB ``(n_mels, n_frames)``."""
    mfcc: np.ndarray
    """MFCCs ``(n_mfcc, n_frames)`` (``librosa.feature.mfcc``)."""
    zero_crossing_rate: np.ndarray
    """Share of sign changes per frame ``(n_frames,)``."""
    spectral_centroid: np.ndarray
    """Magnitude-weighted mean frequency in Hz ``(n_frames,)``."""
    rms: np.ndarray
    """RMS amplitude per frame ``(n_frames,)``."""
    onset_strength: np.ndarray
    """Mean positive dB rise of the mel bands ``(n_frames,)``."""
    sr: int
    hop_length: int


def mel_band_frequencies(sr: int, n_mels: int = N_MELS) -> np.ndarray:
    """Centre frequencies in Hz of the ``n_mels`` Slaney mel bands from 0 to ``sr / 2``."""
    return mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2))[1:-1]


def frame_features(y: np.ndarray, sr: int, n_mfcc: int = 20) -> FrameFeatures:
    """Per-frame features of ``y`` (2048-sample frames every 512 samples, centred).

    Raises ``ValueError`` for an empty, non-mono or non-finite signal.
    """
    spec = Spectrogram(y, sr)
    return FrameFeatures(
        times=frame_times(spec.n_frames, sr, spec.hop_length),
        mel_frequencies=mel_band_frequencies(sr, spec.mel_db.shape[0]),
        mel_db=spec.mel_db,
        mfcc=spec.mfcc(n_mfcc),
        zero_crossing_rate=zero_crossing_rate(spec.y, spec.n_fft, spec.hop_length),
        spectral_centroid=spectral_centroid(spec.magnitude, spec.frequencies),
        rms=rms(spec.y, spec.n_fft, spec.hop_length),
        onset_strength=onset_strength(spec.mel_db, n_fft=spec.n_fft, hop_length=spec.hop_length),
        sr=spec.sr,
        hop_length=spec.hop_length,
    )


__all__ = ["FrameFeatures", "frame_features", "mel_band_frequencies"]
