"""Choose the column groups of the ``default`` feature set by ablation on GTZAN.

Computes every candidate group of :mod:`genrekit.features.default` once per
clip (whole 30 s clip, one row per clip) for the GTZAN development subset,
then trains ``StandardScaler + SVC(class_weight='balanced')`` and
``StandardScaler + LogisticRegression(class_weight='balanced')`` on
``split == train`` and reports balanced accuracy on ``split == valid`` as
groups are added one at a time, then with each group left out of the full
set. The split is artist-disjoint, so the reverse direction (train on valid,
score on train) is a second honest estimate: it is printed too.

    python benchmarks/select_default.py [--gtzan ../shared/gtzan] [--cache /tmp/x.npz]

Valid has 89 clips and five genres have only 2 of them: differences of a
few points are noise.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def compute(gtzan: Path, cache: Path | None) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Group matrices ``{group: (n_clips, n_columns)}``, labels and splits, cached in ``cache``."""
    from genrekit.audio import load_audio
    from genrekit.features.default import GROUPS, compute_groups

    with open(gtzan / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    labels = np.array([r["genre"] for r in rows])
    splits = np.array([r["split"] for r in rows])
    if cache is not None and cache.is_file():
        data = np.load(cache)
        if set(data.files) >= set(GROUPS) and len(data[next(iter(GROUPS))]) == len(rows):
            return {g: data[g] for g in GROUPS}, labels, splits
    values: dict[str, list[np.ndarray]] = {g: [] for g in GROUPS}
    start = time.perf_counter()
    for i, r in enumerate(rows):
        y = load_audio(gtzan / r["path"])
        for g, v in compute_groups(y, 22050, list(GROUPS)).items():
            values[g].append(v)
        if (i + 1) % 50 == 0:
            print(f"  {i + 1}/{len(rows)} clips, {time.perf_counter() - start:.0f} s", file=sys.stderr)
    matrices = {g: np.stack(v) for g, v in values.items()}
    if cache is not None:
        np.savez(cache, **matrices)
    return matrices, labels, splits


def scores(X: np.ndarray, labels: np.ndarray, splits: np.ndarray) -> dict[str, float]:
    """Balanced accuracy of SVC and LR, train->valid and valid->train."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    models = {
        "svc": lambda: make_pipeline(StandardScaler(), SVC(class_weight="balanced")),
        "lr": lambda: make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=5000)),
    }
    out = {}
    for name, make in models.items():
        for fit_on, test_on in (("train", "valid"), ("valid", "train")):
            fit, test = splits == fit_on, splits == test_on
            model = make().fit(X[fit], labels[fit])
            out[f"{name}_{fit_on[0]}{test_on[0]}"] = balanced_accuracy_score(labels[test], model.predict(X[test]))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gtzan", type=Path, default=REPO.parent / "shared" / "gtzan")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/genrekit_select_default.npz"))
    args = parser.parse_args(argv)
    if not (args.gtzan / "manifest.csv").is_file():
        sys.exit(f"GTZAN subset not found at {args.gtzan}")

    from genrekit.features.default import DEFAULT_GROUPS, GROUPS

    matrices, labels, splits = compute(args.gtzan, args.cache)
    names = list(GROUPS)
    header = f"{'columns':>7}  {'svc t>v':>7}  {'lr t>v':>7}  {'svc v>t':>7}  {'lr v>t':>7}  {'mean':>6}  set"
    print("Balanced accuracy (t>v: fit on train, score on valid; v>t: the reverse)\n")

    def row(label: str, groups: list[str], show: bool = True) -> float:
        X = np.hstack([matrices[g] for g in groups])
        s = scores(X, labels, splits)
        mean = float(np.mean(list(s.values())))
        if show:
            print(
                f"{X.shape[1]:>7}  {s['svc_tv']:7.3f}  {s['lr_tv']:7.3f}  {s['svc_vt']:7.3f}  {s['lr_vt']:7.3f}  "
                f"{mean:6.3f}  {label}"
            )
        return mean

    print("Adding groups in order\n" + header)
    for i, g in enumerate(names):
        row(("" if i == 0 else "+ ") + g, names[: i + 1])
    print("\nLeaving one group out of all\n" + header)
    for g in names:
        row(f"all - {g}", [n for n in names if n != g])
    print("\nEach group alone\n" + header)
    for g in names:
        row(g, [g])
    print("\nGreedy forward selection on the mean of the four scores (run to the end)\n" + header)
    chosen: list[str] = []
    path: list[tuple[float, int]] = []
    while len(chosen) < len(names):
        trials = {g: row(g, chosen + [g], show=False) for g in names if g not in chosen}
        g = max(trials, key=lambda k: trials[k])
        chosen.append(g)
        path.append((row(("" if len(chosen) == 1 else "+ ") + g, chosen), len(chosen)))
    best_value, best_size = max(path)
    print(f"  best: the first {best_size} groups ({best_value:.3f})")
    print("\nChosen default\n" + header)
    row("default: " + ", ".join(DEFAULT_GROUPS), list(DEFAULT_GROUPS))


if __name__ == "__main__":
    main()
