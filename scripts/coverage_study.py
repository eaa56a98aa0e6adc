"""How many windows a verdict needs: track accuracy against the number of windows analysed.

Runs a model (the bundled one by default) over the GTZAN valid and train
splits, every window of every track once, then scores the verdict that the
``fast`` coverage's choice of ``k`` evenly spread windows gives
(:func:`genrekit.predict.spread`, first and last included), for k = 1..10 and
the default. GTZAN clips are 30 s, 10 windows of 2.976 s, so any k >= 10 is
"every window". For longer inputs it also builds pseudo-songs: 6 clips of one
genre and split, their windows joined in order (60 windows, about 3 minutes;
windows straddling two clips are not modelled), over ``--draws`` random
groupings, and scores k windows of those. Finally it times
``GenreClassifier.predict`` per track, ``fast`` against ``full``, on 30 s clips
and on real 3-minute files (6 clips decoded, joined and written as MP3), and
checks that the fast path's verdict equals the subset aggregation.

    python scripts/coverage_study.py ../shared/gtzan [--model M.genre] [--draws 20]

Prints markdown tables (the section "How many windows a verdict needs" of docs/results.md).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

from genrekit.audio import stream_audio, stream_windows
from genrekit.datasets import filter_split, load_dataset
from genrekit.evaluation import aggregate_windows
from genrekit.predict import DEFAULT_MAX_WINDOWS, load_model, spread

KS = list(range(1, 11))
SONG_CLIPS = 6
SONG_KS = [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 30, 60]


def scores(y_true: list[str], y_pred: list[str]) -> tuple[float, float]:
    from sklearn.metrics import balanced_accuracy_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return float(np.mean(np.array(y_true) == np.array(y_pred))), float(balanced_accuracy_score(y_true, y_pred))


def verdict(model, probs: np.ndarray, k: int) -> str:
    subset = probs[spread(len(probs), k)]
    _, track = aggregate_windows(subset, np.zeros(len(subset), dtype=int), method=model.aggregation)
    return model.labels[int(np.argmax(track[0]))]


def all_windows(model, records) -> tuple[list[np.ndarray], float]:
    out, t0 = [], time.perf_counter()
    for r in records:
        blocks = stream_audio(r.path, model.sample_rate)
        _, probs = model.classify_windows(stream_windows(blocks, model.sample_rate, model.windowing, r.path), r.path)
        out.append(probs)
    return out, (time.perf_counter() - t0) / len(records) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--draws", type=int, default=20)
    ap.add_argument("--timed", type=int, default=12, help="tracks of the valid split timed per setting")
    args = ap.parse_args()
    model = load_model(args.model)
    records = load_dataset(args.root)
    ks = sorted(set(KS + [DEFAULT_MAX_WINDOWS]))
    splits = {s: filter_split(records, s) for s in ("valid", "train")}
    probs = {}
    print(f"windows {model.windowing.as_dict()}, aggregation {model.aggregation}, default max_windows {DEFAULT_MAX_WINDOWS}")
    for split, recs in splits.items():
        probs[split], ms = all_windows(model, recs)
        n_windows = sorted({len(p) for p in probs[split]})
        print(f"{split}: {len(recs)} tracks, windows per track {n_windows}, {ms:.0f} ms per track (decode + all windows)")

    print("\n### 30 s GTZAN clips\n")
    print("| windows analysed (k) | " + " | ".join(f"{s} accuracy | {s} balanced accuracy" for s in splits) + " |")
    print("|---|" + "---|---|" * len(splits))
    for k in ks:
        row = []
        for split, recs in splits.items():
            acc, bal = scores([r.label for r in recs], [verdict(model, p, k) for p in probs[split]])
            row += [f"{acc:.3f}", f"{bal:.3f}"]
        print(f"| {k}{' (default)' if k == DEFAULT_MAX_WINDOWS else ''} | " + " | ".join(row) + " |")

    print(f"\n### pseudo-songs: {SONG_CLIPS} clips of one genre joined ({SONG_CLIPS * 10} windows), "
          f"mean over {args.draws} groupings\n")
    rng = np.random.default_rng(0)
    song_ks = sorted(set(SONG_KS + [DEFAULT_MAX_WINDOWS]))
    table = defaultdict(list)
    counts = {}
    for split, recs in splits.items():
        by_genre = defaultdict(list)
        for i, r in enumerate(recs):
            by_genre[r.label].append(i)
        for _ in range(args.draws):
            songs = []
            for genre, idx in sorted(by_genre.items()):
                order = rng.permutation(idx)
                for j in range(len(order) // SONG_CLIPS):
                    songs.append((genre, np.concatenate([probs[split][t] for t in order[j * SONG_CLIPS:(j + 1) * SONG_CLIPS]])))
            counts[split] = len(songs)
            for k in song_ks:
                table[split, k].append(scores([g for g, _ in songs], [verdict(model, p, k) for _, p in songs]))
    print("| windows analysed (k) | " + " | ".join(f"{s} accuracy | {s} balanced accuracy" for s in splits) + " |")
    print("|---|" + "---|---|" * len(splits))
    for k in song_ks:
        row = []
        for split in splits:
            acc, bal = np.mean(table[split, k], axis=0)
            row += [f"{acc:.3f}", f"{bal:.3f}"]
        label = " (all)" if k == SONG_CLIPS * 10 else " (default)" if k == DEFAULT_MAX_WINDOWS else ""
        print(f"| {k}{label} | " + " | ".join(row) + " |")
    print("\nsongs per grouping: " + ", ".join(f"{s} {n}" for s, n in counts.items()))

    print("\n### time per track, `GenreClassifier.predict`\n")
    timed = splits["valid"][: args.timed]
    with tempfile.TemporaryDirectory() as tmp:
        import soundfile as sf

        from genrekit.audio import load_audio

        long_files = []
        for j in range(3):
            clips = [load_audio(r.path, 22050) for r in splits["valid"][j * SONG_CLIPS:(j + 1) * SONG_CLIPS]]
            path = Path(tmp) / f"song{j}.mp3"
            sf.write(path, np.concatenate(clips), 22050, format="MP3")
            long_files.append(path)
        print("| input | coverage | windows analysed | ms per track |")
        print("|---|---|---|---|")
        for name, paths in (("30 s GTZAN clip (MP3)", [r.path for r in timed]), ("3 min MP3 (6 clips joined)", long_files)):
            for coverage, k in (("fast", 1), ("fast", 3), ("fast", 5), ("fast", DEFAULT_MAX_WINDOWS), ("full", None)):
                t0 = time.perf_counter()
                for p in paths:
                    result = model.predict(p, coverage=coverage, **({"max_windows": k} if k else {}))
                ms = (time.perf_counter() - t0) / len(paths) * 1000
                print(f"| {name} | {coverage} | {result.coverage['windows']} of {result.coverage['of']} | {ms:.0f} |")
        worst = 0.0
        for p in long_files:
            full = model.predict(p, coverage="full")
            fast = model.predict(p, coverage="fast")
            _, fprobs = model.classify_windows(stream_windows(stream_audio(p, model.sample_rate), model.sample_rate,
                                                              model.windowing, p), p)
            chosen = spread(len(fprobs), DEFAULT_MAX_WINDOWS)
            _, subset = aggregate_windows(fprobs[chosen], np.zeros(len(chosen), dtype=int), method=model.aggregation)
            got = np.array([fast.probabilities[label] for label in model.labels])
            worst = max(worst, float(np.max(np.abs(got - subset[0]))))
            assert fast.coverage["starts"] == [round(float(s), 3) for s in np.array(full.coverage["starts"])[chosen]]
        print(f"\nfast verdict vs the same windows cut from a full decode: largest probability difference {worst:.1e} "
              "(probabilities are rounded to 4 places)")


if __name__ == "__main__":
    main()
