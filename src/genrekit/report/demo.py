"""The demo report: what genrekit heard in each file, as one self-contained HTML page.

For each track: the waveform, mel spectrogram, MFCC heat map, zero-crossing
rate and spectral centroid over time, the genre probabilities and the genre
timeline. Figures are matplotlib PNGs inlined as base64, so the page is one file.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from genrekit.models.card import ModelCard


@dataclass(frozen=True)
class TrackView:
    """Everything the report draws for one track."""

    name: str
    y: np.ndarray  # mono signal
    sr: int
    frames: Any  # genrekit.features.timeline.FrameFeatures
    prediction: Any  # genrekit.predict.Prediction
    labels: Sequence[str]
    window_starts: np.ndarray  # (n_windows,) seconds
    window_probs: np.ndarray  # (n_windows, n_labels)
    window_length: float  # seconds


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _genre_colours(labels: Sequence[str]) -> dict[str, Any]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if len(labels) <= 10 else "tab20"]
    return {label: cmap(i % cmap.N) for i, label in enumerate(labels)}


def track_figure(view: TrackView) -> str:
    """One PNG (base64) with the six panels for a track."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frames = view.frames
    times = np.asarray(frames.times)
    duration = len(view.y) / view.sr
    colours = _genre_colours(view.labels)

    fig, axes = plt.subplots(6, 1, figsize=(11, 15), gridspec_kw={"height_ratios": [1, 1.6, 1.3, 1, 1, 1.2]})
    ax_wave, ax_mel, ax_mfcc, ax_feat, ax_prob, ax_time = axes

    # Waveform as a min/max envelope: fast for long tracks, same look.
    n_bins = 2000
    step = max(1, len(view.y) // n_bins)
    trimmed = view.y[: (len(view.y) // step) * step].reshape(-1, step)
    env_t = np.arange(trimmed.shape[0]) * step / view.sr
    ax_wave.fill_between(env_t, trimmed.min(axis=1), trimmed.max(axis=1), color="#4a6fa5", linewidth=0)
    ax_wave.set(xlim=(0, duration), ylabel="amplitude", title="Waveform")

    extent = [0, duration, 0, frames.mel_db.shape[0]]
    im = ax_mel.imshow(frames.mel_db, origin="lower", aspect="auto", extent=extent, cmap="magma")
    ax_mel.set(ylabel="mel band", title="Mel spectrogram (dB)")
    fig.colorbar(im, ax=ax_mel, pad=0.01)

    # MFCC 1 (loudness) dwarfs the rest: show each coefficient standardised over time.
    mfcc = np.asarray(frames.mfcc, dtype=np.float64)
    mfcc = (mfcc - mfcc.mean(axis=1, keepdims=True)) / (mfcc.std(axis=1, keepdims=True) + 1e-9)
    extent = [0, duration, 0.5, mfcc.shape[0] + 0.5]
    im = ax_mfcc.imshow(mfcc, origin="lower", aspect="auto", extent=extent, cmap="coolwarm", vmin=-3, vmax=3)
    ax_mfcc.set(ylabel="MFCC", title="MFCCs (each coefficient standardised over the track)")
    fig.colorbar(im, ax=ax_mfcc, pad=0.01)

    ax_feat.plot(times, frames.spectral_centroid, color="#c0392b", linewidth=0.8, label="spectral centroid (Hz)")
    ax_feat.set(xlim=(0, duration), ylabel="centroid (Hz)", title="Spectral centroid and zero-crossing rate")
    twin = ax_feat.twinx()
    twin.plot(times, frames.zero_crossing_rate, color="#27ae60", linewidth=0.8, label="zero-crossing rate")
    twin.set_ylabel("ZCR")
    lines = ax_feat.get_lines() + twin.get_lines()
    ax_feat.legend(lines, [line.get_label() for line in lines], loc="upper right", fontsize=8)

    probs = view.prediction.probabilities
    order = sorted(view.labels, key=lambda g: -probs[g])
    ax_prob.barh(order[::-1], [probs[g] for g in order[::-1]], color=[colours[g] for g in order[::-1]])
    ax_prob.set(xlim=(0, 1), xlabel="probability", title=f"Genre probabilities: {view.prediction.genre}")

    # Timeline: each window's probabilities as stacked areas at the window's centre.
    if len(view.window_starts) > 1:
        centres = view.window_starts + view.window_length / 2
        ax_time.stackplot(
            centres,
            view.window_probs.T,
            labels=list(view.labels),
            colors=[colours[g] for g in view.labels],
            alpha=0.9,
        )
    else:
        bottom = 0.0
        for g, p in zip(view.labels, view.window_probs[0]):
            ax_time.bar(duration / 2, p, width=duration, bottom=bottom, color=colours[g], label=g)
            bottom += p
    ax_time.set(xlim=(0, duration), ylim=(0, 1), xlabel="time (s)", ylabel="probability", title="Genre timeline")
    ax_time.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)

    for ax in (ax_wave, ax_mel, ax_mfcc, ax_feat):
        ax.set_xlim(0, duration)
    fig.tight_layout()
    return _png(fig)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0.2em; } .meta { color: #666; }
section { border-top: 1px solid #ddd; margin-top: 2em; padding-top: 1em; }
table { border-collapse: collapse; } td, th { padding: 0.2em 0.8em; text-align: left; }
.genre { font-size: 1.4em; font-weight: bold; }
img { max-width: 100%; }
"""


def render_demo_html(views: Sequence[TrackView], card: ModelCard, title: str = "genrekit demo") -> str:
    """A self-contained HTML page with one section per track, headed by the model's validation figures."""
    metrics = card.validation.metrics
    headline = ""
    if metrics.get("balanced_accuracy") is not None:
        headline = (
            f"Model: {html.escape(card.kind)} on feature set {html.escape(card.feature_set.name)}; "
            f"{html.escape(card.validation.split)} balanced accuracy "
            f"{metrics['balanced_accuracy']:.3f}, accuracy {metrics.get('accuracy', float('nan')):.3f}."
        )
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p class='meta'>{headline}</p>",
        "<table><tr><th>file</th><th>genre</th><th>confidence</th></tr>",
    ]
    for view in views:
        p = view.prediction
        parts.append(
            f"<tr><td><a href='#{html.escape(view.name)}'>{html.escape(view.name)}</a></td>"
            f"<td>{html.escape(p.genre)}</td><td>{p.confidence:.2f}</td></tr>"
        )
    parts.append("</table>")
    for view in views:
        p = view.prediction
        top = ", ".join(f"{html.escape(g)} {v:.2f}" for g, v in p.top(3))
        parts.append(
            f"<section id='{html.escape(view.name)}'><h2>{html.escape(view.name)}</h2>"
            f"<p><span class='genre'>{html.escape(p.genre)}</span> ({p.confidence:.2f}); top 3: {top}</p>"
            f"<img alt='analysis of {html.escape(view.name)}' src='data:image/png;base64,{track_figure(view)}'>"
            "</section>"
        )
    parts.append("</body></html>")
    return "".join(parts)
