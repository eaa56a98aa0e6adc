"""Reliability diagram of the bundled models' held-out verdicts, before and after temperature scaling.

Reads the reliability bins scripts/two_way.py recorded (every labelled GTZAN
clip scored once, by the direction that did not fit on it; "after": each
direction tempered with the temperature fit on the other direction) for the
configurations the bundled models' cards name, and draws them:

    python scripts/reliability_diagram.py [--out docs/reliability.png]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from genrekit.models.bundle import read_card
from genrekit.predict import BUNDLED_NAMES, bundled_model_path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--two-way", type=Path, default=REPO / "docs" / "results-two-way.json")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "reliability.png")
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_name = {c["name"]: c for c in json.loads(args.two_way.read_text())["candidates"]}
    shown = []
    for role in BUNDLED_NAMES:
        configuration = read_card(bundled_model_path(role)).extra["selection"]["configuration"]
        shown.append((role, configuration, by_name[configuration]["calibration"]))
    fig, axes = plt.subplots(1, len(shown), figsize=(5.2 * len(shown), 5), squeeze=False)
    for ax, (role, configuration, cal) in zip(axes[0], shown):
        ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="perfectly calibrated")
        for key, label, colour in (("pooled_before", "uncalibrated", "tab:red"),
                                   ("pooled_after_cross_fit", "temperature, fit on the other direction", "tab:blue")):
            bins = [b for b in cal[key]["bins"] if b["count"]]
            ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o", color=colour,
                    label=f"{label} (ECE {cal[key]['ece']:.3f})")
            for b in bins:
                ax.annotate(str(b["count"]), (b["confidence"], b["accuracy"]), fontsize=6, color=colour,
                            textcoords="offset points", xytext=(3, -8))
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (top probability)", ylabel="accuracy",
               title=f"{role}: {configuration}"[:70])
        ax.title.set_fontsize(8)
        ax.legend(loc="upper left", fontsize=7)
    fig.suptitle("GTZAN, 265 clips each scored once by a model that never heard its artist (numbers: tracks per bin)",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
