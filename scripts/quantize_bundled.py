"""Measure cheaper precisions of the bundled musicnn model against the shipped float32 graph (issue 11 item 4).

Variants, each measured against the shipped graph (float16 weights cast to float32 by Cast nodes):

* ``float32-folded``: the float16 initializers converted to float32 once, the Cast nodes removed;
* ``float32-ortopt``: that graph optimised offline by onnxruntime (``ORT_ENABLE_EXTENDED``: portable, only
  standard and ``com.microsoft`` ops), so a session has less to do when it is created;
* ``int8-minmax``, ``int8-percentile``: static int8 QDQ (QuantizeLinear/DequantizeLinear, int8 weights per
  output channel, uint8 activations), calibrated on log-mel patches of GTZAN *train* clips only (MinMax, or
  histogram percentile 99.999).

Each is evaluated on every window of GTZAN's *valid* split: per-window top-1 agreement with the shipped
graph, track accuracy / balanced accuracy / log loss after mean aggregation of the window probabilities
(as genrekit does), and timed: milliseconds per 3-s patch, median of ``--runs`` runs of a batch of 4 after
warm-up, at 1 and 2 intra-op threads. The table is printed as markdown.

    python scripts/quantize_bundled.py --gtzan ../shared/gtzan [--write OUT.genre --variant int8-minmax]

``--write`` saves the chosen variant as a genrekit model file (genrekit's own ``save_model``: the same card,
``model.precision`` recorded, the validation figures re-measured for that graph), so
``genrekit evaluate OUT.genre ../shared/gtzan --split valid`` can confirm them. It never touches the
bundled model file. Quantisation needs the ``onnx`` package (an offline step; prediction does not).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BATCH = 4
VARIANTS = ("float32-shipped", "float32-folded", "float32-ortopt", "int8-minmax", "int8-percentile")
PERCENTILE = 99.999


# ----------------------------------------------------------------------------- patches


def _patches(classifier, records, per_track: int | None, cache: Path | None, tag: str):
    """(features (n, 17952) float32, track index per row (n,), labels per track) of ``records``' windows."""
    from genrekit.audio import load_audio
    from genrekit.audio.windows import cut_windows
    from genrekit.predict import spread

    key = hashlib.sha256(json.dumps([tag, per_track, [r.path for r in records]]).encode()).hexdigest()[:16]
    path = cache / f"{tag}-{key}.npz" if cache else None
    if path is not None and path.exists():
        data = np.load(path)
        return data["X"], data["track"], [r.label for r in records]
    sr = classifier.sample_rate
    rows, tracks = [], []
    t0 = time.perf_counter()
    for i, record in enumerate(records):
        y = load_audio(record.path, sr)
        windows = [w for _, w in cut_windows(y, sr, classifier.windowing, record.path)]
        if per_track is not None and len(windows) > per_track:
            windows = [windows[j] for j in spread(len(windows), per_track)]
        feats = np.asarray(classifier.feature_set.extract_many(windows, sr), dtype=np.float32)
        rows.append(feats)
        tracks.extend([i] * len(feats))
    X, track = np.concatenate(rows), np.asarray(tracks)
    print(f"{tag}: {len(X)} patches of {len(records)} tracks in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, X=X, track=track)
    return X, track, [r.label for r in records]


# ----------------------------------------------------------------------------- variants


def fold_casts(model_bytes: bytes) -> bytes:
    """The graph with every Cast of a float16 initializer to float32 done once: float32 initializers, no Cast."""
    import onnx
    from onnx import TensorProto, numpy_helper

    proto = onnx.load_model_from_string(model_bytes)
    graph = proto.graph
    inits = {t.name: t for t in graph.initializer}
    keep, folded, sources = [], {}, set()
    for node in graph.node:
        to = next((a.i for a in node.attribute if a.name == "to"), None)
        src = inits.get(node.input[0]) if node.op_type == "Cast" else None
        if src is not None and src.data_type == TensorProto.FLOAT16 and to == TensorProto.FLOAT:
            folded[node.output[0]] = numpy_helper.from_array(numpy_helper.to_array(src).astype(np.float32),
                                                             node.output[0])
            sources.add(src.name)
        else:
            keep.append(node)
    still_used = {i for n in keep for i in n.input}
    new_inits = [t for t in graph.initializer if t.name not in sources or t.name in still_used]
    new_inits += folded.values()
    del graph.node[:]
    graph.node.extend(keep)
    del graph.initializer[:]
    graph.initializer.extend(new_inits)
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def ort_optimised(model_bytes: bytes) -> bytes:
    """The graph after onnxruntime's portable offline optimisations (constant folding, Conv+Relu fusion, ...)."""
    import onnx
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "opt.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(out)
        options.log_severity_level = 3
        ort.InferenceSession(model_bytes, sess_options=options, providers=["CPUExecutionProvider"])
        return prune_opsets(out.read_bytes())


def prune_opsets(model_bytes: bytes) -> bytes:
    """The graph declaring only the operator domains its nodes use.

    onnxruntime's optimiser declares every domain it knows (``com.microsoft.nchwc``, ``org.pytorch.aten``...),
    which genrekit's loader refuses (``bundle.ALLOWED_DOMAINS``) although no node uses them.
    """
    import onnx

    proto = onnx.load_model_from_string(model_bytes)
    used = {n.domain for n in proto.graph.node} | {""}
    kept = [o for o in proto.opset_import if o.domain in used]
    del proto.opset_import[:]
    proto.opset_import.extend(kept)
    return proto.SerializeToString()


class _Reader:
    """Calibration batches for onnxruntime's quantiser; ``set_range`` lets it collect a stride at a time."""

    def __init__(self, X: np.ndarray, input_name: str) -> None:
        self.batches = [X[i:i + BATCH] for i in range(0, len(X), BATCH)]
        self.input_name = input_name
        self.set_range(0, len(self.batches))

    def __len__(self) -> int:
        return len(self.batches)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._it = iter(self.batches[start_index:end_index])

    def get_next(self):
        batch = next(self._it, None)
        return None if batch is None else {self.input_name: batch}


def quantise(model_bytes: bytes, calib: np.ndarray, input_name: str, method: str, reduce_range: bool,
             op_types: list[str] | None = None) -> bytes:
    """Static int8 QDQ: per-channel int8 weights, uint8 activations, ranges calibrated on ``calib``."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    n_batches = (len(calib) + BATCH - 1) // BATCH
    stride = next(s for s in (4, 3, 2, 1) if n_batches % s == 0)  # bounded memory: 4 batches per collection
    with tempfile.TemporaryDirectory() as tmp:
        src, pre, out = (Path(tmp) / n for n in ("in.onnx", "pre.onnx", "q.onnx"))
        src.write_bytes(model_bytes)
        quant_pre_process(str(src), str(pre))
        quantize_static(
            str(pre), str(out), _Reader(calib, input_name),
            quant_format=QuantFormat.QDQ, per_channel=True, reduce_range=reduce_range,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            op_types_to_quantize=op_types,
            calibrate_method=CalibrationMethod.MinMax if method == "minmax" else CalibrationMethod.Percentile,
            extra_options={"CalibStridedMinMax": stride, "CalibPercentile": PERCENTILE},
        )
        return prune_opsets(out.read_bytes())


# ----------------------------------------------------------------------------- measuring


def _probabilities(model_bytes: bytes, X: np.ndarray, spec, threads: int) -> np.ndarray:
    """Window probabilities as genrekit computes them (bounded batches, clipped and renormalised)."""
    from genrekit.runtime import onnx_session, run_batched

    session = onnx_session(model_bytes, threads=threads, where="variant")
    p = np.asarray(run_batched(session, {spec.input: X}, [spec.output], BATCH)[0], dtype=np.float64)
    p = np.clip(p, 0.0, None)
    return p / p.sum(axis=1, keepdims=True)


def _timing(model_bytes: bytes, batch: np.ndarray, spec, threads: int, runs: int) -> tuple[float, float]:
    """(ms per patch: median of ``runs`` runs of one batch after warm-up, ms to create the session)."""
    from genrekit.runtime import onnx_session

    t0 = time.perf_counter()
    session = onnx_session(model_bytes, threads=threads, where="variant")
    load_ms = (time.perf_counter() - t0) * 1e3
    feed = {spec.input: batch}
    for _ in range(2):
        session.run([spec.output], feed)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        session.run([spec.output], feed)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3 / len(batch), load_ms


def _metrics(probs: np.ndarray, track: np.ndarray, track_labels: list, labels: list):
    from genrekit.evaluation import aggregate_windows, classification_metrics

    _, track_probs = aggregate_windows(probs, track, method="mean")
    window_truth = [track_labels[i] for i in track]
    return (classification_metrics(track_labels, track_probs, labels),
            classification_metrics(window_truth, probs, labels))


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None, help="a CNN model file (default: the bundled one)")
    parser.add_argument("--gtzan", type=Path, default=REPO.parent / "shared" / "gtzan")
    parser.add_argument("--calib-patches", type=int, default=352, help="train patches to calibrate on")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {', '.join(VARIANTS)}")
    parser.add_argument("--reduce-range", action="store_true", help="7-bit weights (AVX2 u8s8 saturation)")
    parser.add_argument("--ops", default="", help="op types to quantise, comma-separated (default: all onnxruntime "
                        "can; e.g. Conv,Gemm leaves BatchNormalization in float32)")
    parser.add_argument("--threads", default="1,2", help="intra-op thread counts to time")
    parser.add_argument("--runs", type=int, default=9, help="timed runs per variant and thread count")
    parser.add_argument("--eval-threads", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "genrekit-quantize-cache",
                        help="where decoded patches are cached between runs ('' for nowhere)")
    parser.add_argument("--save-graphs", type=Path, default=None, help="also write each variant's model.onnx here")
    parser.add_argument("--write", type=Path, default=None, help="write --variant as a genrekit model file")
    parser.add_argument("--variant", default="int8-minmax", help="the variant --write saves")
    args = parser.parse_args()

    from genrekit.datasets import filter_split, load_dataset
    from genrekit.models.bundle import MODEL_MEMBER, load_model as load_bundle
    from genrekit.models.card import OnnxSpec
    from genrekit.predict import BUNDLED_MODEL, load_model

    path = args.model or BUNDLED_MODEL
    classifier = load_model(path)
    bundle = load_bundle(path)
    card, labels = bundle.card, bundle.labels
    if card.kind != "cnn":
        sys.exit(f"{path}: a {card.kind} model; this script quantises a CNN model file, whose graph holds the "
                 "network (the bundled models were CNNs when it was written; pass one with --model)")
    spec = card.onnx or OnnxSpec()
    shipped = bundle.member_bytes(spec.member)
    cache = args.cache if str(args.cache) else None

    records = load_dataset(args.gtzan)
    train, valid = filter_split(records, "train"), filter_split(records, "valid")
    per_track = max(1, -(-args.calib_patches // len(train)))
    Xc, _, _ = _patches(classifier, train, per_track, cache, "train")
    Xc = Xc[np.random.default_rng(0).permutation(len(Xc))[:args.calib_patches]]
    Xv, track, track_labels = _patches(classifier, valid, None, cache, "valid")

    wanted = [v.strip() for v in args.variants.split(",") if v.strip()]
    if args.write is not None and args.variant not in wanted:
        wanted.append(args.variant)
    graphs: dict[str, bytes] = {"float32-shipped": shipped}
    folded = fold_casts(shipped)
    for name in wanted:
        t0 = time.perf_counter()
        if name == "float32-folded":
            graphs[name] = folded
        elif name == "float32-ortopt":
            graphs[name] = ort_optimised(folded)
        elif name in ("int8-minmax", "int8-percentile"):
            graphs[name] = quantise(folded, Xc, spec.input, name.split("-")[1], args.reduce_range,
                                    [o for o in args.ops.split(",") if o] or None)
        elif name != "float32-shipped":
            sys.exit(f"unknown variant {name!r}; choose from {', '.join(VARIANTS)}")
        print(f"{name}: built in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if args.save_graphs:
        args.save_graphs.mkdir(parents=True, exist_ok=True)
        for name, data in graphs.items():
            (args.save_graphs / f"{name}.onnx").write_bytes(data)

    threads = [int(t) for t in args.threads.split(",") if t]
    batch = np.ascontiguousarray(Xv[:BATCH])
    base = _probabilities(shipped, Xv, spec, args.eval_threads)
    results = {}
    for name in ["float32-shipped", *[w for w in wanted if w != "float32-shipped"]]:
        data = graphs[name]
        probs = base if name == "float32-shipped" else _probabilities(data, Xv, spec, args.eval_threads)
        track_m, window_m = _metrics(probs, track, track_labels, labels)
        timing = {t: _timing(data, batch, spec, t, args.runs) for t in threads}
        results[name] = dict(probs=probs, track=track_m, window=window_m, timing=timing, kb=len(data) / 1024,
                             agree=float(np.mean(probs.argmax(1) == base.argmax(1))),
                             max_diff=float(np.max(np.abs(probs - base))))
        print(f"{name}: measured", file=sys.stderr)

    ref = results["float32-shipped"]
    head = ["variant", *[f"ms/patch {t} thr" for t in threads], "session ms", "KB",
            "top-1 agree (valid windows)", "max |dp|", "track acc", "track bal acc", "track log loss",
            "window acc"]
    print(f"\nGTZAN valid: {len(valid)} tracks, {len(Xv)} windows; calibration: {len(Xc)} patches of "
          f"{len(train)} GTZAN train tracks; batch {BATCH}, median of {args.runs} runs\n")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name, r in results.items():
        cells = [name, *[f"{r['timing'][t][0]:.1f}" for t in threads], f"{r['timing'][threads[0]][1]:.0f}",
                 f"{r['kb']:.0f}", f"{100 * r['agree']:.1f} %", f"{r['max_diff']:.3g}",
                 f"{r['track']['accuracy']:.4f}", f"{r['track']['balanced_accuracy']:.4f}",
                 f"{r['track']['log_loss']:.4f}", f"{r['window']['accuracy']:.4f}"]
        print("| " + " | ".join(cells) + " |")
    print()
    for name, r in results.items():
        if name == "float32-shipped":
            continue
        faster = all(r["timing"][t][0] < ref["timing"][t][0] for t in threads)
        same_acc = r["track"]["accuracy"] == ref["track"]["accuracy"]
        rule = name.startswith("int8") and r["agree"] >= 0.99 and same_acc and faster
        print(f"{name}: faster at every thread count: {faster}; track accuracy unchanged: {same_acc}; "
              f"window agreement >= 99 %: {r['agree'] >= 0.99}" + (f" -> ship rule met: {rule}"
                                                                  if name.startswith("int8") else ""))

    if args.write is not None:
        _write(args.write, args.variant, graphs[args.variant], card, results[args.variant], len(Xc), len(train),
               str(args.gtzan), hashlib.sha256(shipped).hexdigest(), MODEL_MEMBER)


def _write(out: Path, name: str, data: bytes, card, result, n_calib: int, n_train: int, source: str,
           shipped_sha: str, member: str) -> None:
    from genrekit.models.bundle import load_model as load_bundle, save_model
    from genrekit.models.card import ModelInfo, ValidationSummary

    precision = "int8" if name.startswith("int8") else "float32"
    details = dict(card.model.details)
    details["precision"] = precision
    if precision == "int8":
        details["weights"] = "int8 per output channel (QDQ), uint8 activations"
    elif name != "float32-shipped":
        details["weights"] = "float32"
    details["derived"] = {
        "from_onnx_sha256": shipped_sha, "variant": name,
        **({"calibration": {"method": name.split("-")[1], "split": "train", "source": source, "patches": n_calib,
                            "tracks": n_train}} if precision == "int8" else {}),
        "valid_window_top1_agreement": result["agree"], "by": "scripts/quantize_bundled.py",
    }
    old = card.validation
    validation = ValidationSummary.of(result["track"], result["window"], split=old.split,
                                      note=old.note, **old.extra)
    new = replace(card, model=ModelInfo(card.model.kind, details), validation=validation, members={},
                  created_at=None, genrekit_version=None, card_sha256=None)  # onnx kept: the same input/output
    path = save_model(out, data, new)
    check = load_bundle(path)
    assert check.card.precision == precision and check.member_names == [member]
    print(f"wrote {path} ({name}, precision {precision})", file=sys.stderr)


if __name__ == "__main__":
    main()
