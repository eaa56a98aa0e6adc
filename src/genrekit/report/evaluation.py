"""A self-contained HTML page for one evaluation.

Input is the dict from :func:`genrekit.evaluation.classification_metrics`; the
page needs no network and no files beside it (inline CSS, figures as base64
PNG drawn with matplotlib's Agg canvas, no pyplot global state), so it can be
mailed, archived or served as is.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any, Mapping

import numpy as np

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#1d2330;padding:0 1rem;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #dde;padding-bottom:.2rem}
.split{font-size:1rem;color:#445;margin:0 0 1rem}.split b{color:#1d2330}.warn{color:#a33}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.card{border:1px solid #dde;border-radius:8px;padding:.6rem 1rem;min-width:8.5rem;background:#f8f9fc}
.card .v{font-size:1.6rem;font-weight:600}.card .k{font-size:.8rem;color:#556;text-transform:uppercase;letter-spacing:.03em}
table{border-collapse:collapse;margin:.5rem 0}th,td{padding:.25rem .7rem;border-bottom:1px solid #e5e7ef;text-align:right}
th{background:#f1f3f9}td.l,th.l{text-align:left}
.figs{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}img{max-width:100%;height:auto}
.bar{display:inline-block;height:.6rem;background:#4a78c2;vertical-align:middle;margin-left:.4rem;border-radius:2px}
footer{margin-top:2.5rem;color:#778;font-size:.8rem}
"""


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def confusion_png(metrics: Mapping[str, Any]) -> bytes:
    """Heat map of the row-normalised confusion matrix, each cell annotated with its count."""
    from matplotlib.figure import Figure

    labels = list(metrics["labels"])
    counts = np.asarray(metrics["confusion"]["counts"])
    norm = np.asarray(metrics["confusion"]["normalized"], dtype=float)
    n = len(labels)
    side = max(4.5, 0.62 * n + 2.2)
    fig = Figure(figsize=(side + 1.2, side))
    ax = fig.add_subplot()
    im = ax.imshow(norm, cmap="Blues", vmin=0.0, vmax=1.0)
    support = counts.sum(axis=1)
    fontsize = 10 if n <= 10 else 8 if n <= 16 else 6
    for i in range(n):
        for j in range(n):
            if counts[i, j] == 0 and i != j:
                continue
            colour = "white" if norm[i, j] > 0.55 else "#1d2330"
            ax.text(j, i, f"{counts[i, j]}\n{norm[i, j]:.0%}" if support[i] else "0", ha="center",
                    va="center", fontsize=fontsize, color=colour, linespacing=1.1)
    ax.set_xticks(range(n), labels, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(n), [f"{lab} ({s})" for lab, s in zip(labels, support)])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true (support)")
    ax.set_title("Confusion matrix: counts, colour = share of the true class")
    ax.set_xticks(np.arange(-0.5, n), minor=True)
    ax.set_yticks(np.arange(-0.5, n), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.2)
    ax.tick_params(which="minor", length=0)
    cbar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    cbar.set_label("share of true class")
    return _png(fig)


def reliability_png(metrics: Mapping[str, Any]) -> bytes:
    """Reliability diagram (accuracy vs confidence per bin) over a histogram of confidences."""
    from matplotlib.figure import Figure

    bins = metrics["reliability"]["bins"]
    lo = np.array([b["lower"] for b in bins])
    hi = np.array([b["upper"] for b in bins])
    width = hi - lo
    centre = (lo + hi) / 2
    count = np.array([b["count"] for b in bins])
    acc = np.array([np.nan if b["accuracy"] is None else b["accuracy"] for b in bins])
    conf = np.array([np.nan if b["confidence"] is None else b["confidence"] for b in bins])
    fig = Figure(figsize=(5.2, 5.6))
    ax, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1], "hspace": 0.08})
    filled = count > 0
    ax.bar(lo[filled], acc[filled], width=width[filled], align="edge", color="#4a78c2", edgecolor="white",
           label="accuracy")
    ax.bar(lo[filled], (conf - acc)[filled], bottom=acc[filled], width=width[filled], align="edge",
           color="none", edgecolor="#d0473c", hatch="//", linewidth=0.8, label="gap to confidence")
    ax.plot([0, 1], [0, 1], linestyle="--", color="#667", linewidth=1, label="perfect calibration")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    ax.set_title(f"Reliability (top label), ECE = {metrics['ece']:.3f}")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax2.bar(centre, count, width=width * 0.9, color="#8a9bb8")
    ax2.set_xlabel("confidence (top probability)")
    ax2.set_ylabel("samples")
    return _png(fig)


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, sort_keys=True)
    return str(value)


def render_evaluation_html(metrics: Mapping[str, Any], title: str, context: Mapping[str, Any] | None = None) -> str:
    """The evaluation page as one HTML string.

    ``context`` describes what was evaluated; its ``"split"`` (e.g.
    ``"GTZAN valid (fault-filtered)"``) is shown beside the headline numbers
    and flagged when missing; other keys (model, feature set, level ...)
    are listed as a table.
    """
    from genrekit import __version__

    context = dict(context or {})
    esc = html.escape
    labels = [str(x) for x in metrics["labels"]]
    split = context.pop("split", None)
    split_html = (f'<p class="split">Measured on: <b>{esc(str(split))}</b></p>' if split
                  else '<p class="split warn">Split not named: these numbers cannot be judged.</p>')

    cards = [("accuracy", metrics["accuracy"], "{:.1%}"), ("balanced accuracy", metrics["balanced_accuracy"], "{:.1%}"),
             ("log loss", metrics["log_loss"], "{:.3f}"), ("ECE", metrics["ece"], "{:.3f}"),
             ("samples", metrics["n_samples"], "{}")]
    cards_html = "".join(f'<div class="card"><div class="k">{esc(k)}</div><div class="v">{esc(f.format(v))}</div></div>'
                         for k, v, f in cards)

    ctx_html = ""
    if context:
        rows = "".join(f'<tr><td class="l">{esc(str(k))}</td><td class="l">{esc(_fmt(v))}</td></tr>'
                       for k, v in context.items())
        ctx_html = f"<h2>What was evaluated</h2><table>{rows}</table>"

    per_class = metrics["per_class"]
    rows = []
    for label in labels:
        pc = per_class[label]
        bar = f'<span class="bar" style="width:{4 * pc["recall"]:.2f}rem"></span>'
        rows.append(f'<tr><td class="l">{esc(label)}</td><td>{pc["precision"]:.3f}</td><td>{pc["recall"]:.3f}{bar}</td>'
                    f'<td>{pc["f1"]:.3f}</td><td>{pc["support"]}</td></tr>')
    class_html = ('<table><tr><th class="l">label</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>'
                  + "".join(rows) + "</table>")

    pairs = metrics.get("most_confused") or []
    if pairs:
        prow = "".join(f'<tr><td class="l">{esc(p["true"])}</td><td class="l">{esc(p["predicted"])}</td>'
                       f'<td>{p["count"]}</td><td>{p["rate"]:.1%}</td></tr>' for p in pairs)
        pairs_html = ('<table><tr><th class="l">true</th><th class="l">predicted as</th><th>count</th>'
                      f'<th>share of true class</th></tr>{prow}</table>')
    else:
        pairs_html = "<p>No confusions: every sample was classified correctly.</p>"

    figs = (f'<div class="figs">{_img(confusion_png(metrics), "confusion matrix heat map")}'
            f'{_img(reliability_png(metrics), "reliability diagram")}</div>')
    extra = ""
    if "mean_confidence" in metrics:
        gap = metrics["mean_confidence"] - metrics["accuracy"]
        word = "over-confident" if gap > 0.02 else "under-confident" if gap < -0.02 else "about right"
        extra = (f"<p>Mean confidence {metrics['mean_confidence']:.1%} against accuracy {metrics['accuracy']:.1%}: "
                 f"{word}.</p>")

    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{esc(title)}</h1>
{split_html}
<div class="cards">{cards_html}</div>
{extra}
{ctx_html}
<h2>Confusion and calibration</h2>
{figs}
<h2>Per class</h2>
{class_html}
<h2>Most confused pairs</h2>
{pairs_html}
<footer>genrekit {esc(__version__)}: balanced accuracy is the mean recall over classes present in the data;
ECE is top-label expected calibration error over {metrics['reliability']['n_bins']} equal-width bins.</footer>
</body>
</html>
"""
