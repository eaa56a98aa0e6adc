"""Reference values computed with librosa's own functions, one call per feature (the oracle).

Each function returns ``{column name: value}`` for the columns of a genrekit
feature set, computed the way the GTZAN Kaggle CSV and librosa's
documentation do: each feature function called on ``y`` with its defaults,
pooled with ``np.mean`` / ``np.var`` / ``np.std``.
"""

from __future__ import annotations

import numpy as np


def mean_var(name: str, x: np.ndarray) -> dict[str, float]:
    return {f"{name}_mean": float(np.mean(x)), f"{name}_var": float(np.var(x))}


def mfcc_columns(y: np.ndarray, sr: int) -> dict[str, float]:
    import librosa

    out: dict[str, float] = {}
    for k, row in enumerate(librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20), 1):
        out.update(mean_var(f"mfcc{k}", row))
    return out


def seed(y: np.ndarray, sr: int) -> dict[str, float]:
    import librosa

    out = mfcc_columns(y, sr)
    out.update(mean_var("zero_crossing_rate", librosa.feature.zero_crossing_rate(y)))
    out.update(mean_var("spectral_centroid", librosa.feature.spectral_centroid(y=y, sr=sr)))
    return out


def gtzan57(y: np.ndarray, sr: int, hpss: bool = True) -> dict[str, float]:
    import librosa

    out: dict[str, float] = {}
    out.update(mean_var("chroma_stft", librosa.feature.chroma_stft(y=y, sr=sr)))
    out.update(mean_var("rms", librosa.feature.rms(y=y)))
    out.update(mean_var("spectral_centroid", librosa.feature.spectral_centroid(y=y, sr=sr)))
    out.update(mean_var("spectral_bandwidth", librosa.feature.spectral_bandwidth(y=y, sr=sr)))
    out.update(mean_var("rolloff", librosa.feature.spectral_rolloff(y=y, sr=sr)))
    out.update(mean_var("zero_crossing_rate", librosa.feature.zero_crossing_rate(y)))
    if hpss:
        harmonic, percussive = librosa.effects.hpss(y)
        out.update(mean_var("harmony", harmonic))
        out.update(mean_var("perceptr", percussive))
    tempo, _ = librosa.beat.beat_track(y=y, sr=sr)
    out["tempo"] = float(np.atleast_1d(tempo)[0])
    out.update(mfcc_columns(y, sr))
    return out


def default(y: np.ndarray, sr: int) -> dict[str, float]:
    """The ``default`` set's columns from librosa (MFCC slopes, tuning-0 chroma, onset strength, tempo, its strength).

    Generous to librosa where a benchmark times it: tuning fixed at 0, one onset envelope reused.
    """
    import librosa

    out: dict[str, float] = {}
    slopes = librosa.feature.delta(librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20))
    for k, row in enumerate(slopes, 1):
        out[f"mfcc{k}_delta_std"] = float(np.std(row))
    chroma = librosa.feature.chroma_stft(y=y, sr=sr, tuning=0.0)
    for k, value in enumerate(np.sort(chroma.mean(axis=1))[::-1], 1):
        out[f"chroma_rank{k}_mean"] = float(value)
    out["chroma_std"] = float(np.std(chroma))
    env = librosa.onset.onset_strength(y=y, sr=sr)
    out["onset_strength_mean"] = float(np.mean(env))
    out["onset_strength_std"] = float(np.std(env))
    out["tempo"] = out["tempo_strength"] = 0.0
    if env.any():  # silence has no tempo: genrekit says 0 for both
        out["tempo"] = float(librosa.feature.tempo(onset_envelope=env, sr=sr)[0])
        win = int(librosa.time_to_frames(8.0, sr=sr))
        strength = librosa.feature.tempogram(onset_envelope=env, sr=sr, win_length=win).mean(axis=1)
        lag = int(np.argmin(np.abs(librosa.tempo_frequencies(win, sr=sr) - out["tempo"])))
        out["tempo_strength"] = float(strength[lag])
    return out
