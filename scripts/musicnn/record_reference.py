"""Record musicnn's own (TensorFlow) outputs once, as test fixtures for genrekit's re-implementation.

Run in a throwaway virtual environment that has TensorFlow; genrekit itself
never needs it::

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu 'tf-keras~=2.21.0' soundfile soxr scipy
    /tmp/tfvenv/bin/pip install --no-deps musicnn==0.1.0
    genrekit models install musicnn            # (main venv) converted weights: the mel filter bank comes from there
    TF_USE_LEGACY_KERAS=1 /tmp/tfvenv/bin/python scripts/musicnn/record_reference.py \\
        --weights ~/.local/share/genrekit/models/musicnn --out tests/musicnn/data

What it writes (``--out``):

* ``reference.npz``: float32 log-mel patches computed by genrekit's front-end
  (``mel``: 4 patches of 187 frames from the example recordings and a
  synthetic signal; ``mel_short``: one 64-frame patch), and for
  ``MSD_musicnn`` and ``MTT_musicnn`` the TensorFlow outputs on exactly those
  patches: ``<model>.taggram``, ``.penultimate``, ``.max_pool``,
  ``.mean_pool``, plus ``<model>.short.*`` for the short patch; ``meta`` (JSON).
* ``tiny_ckpt/``: a small checkpoint written by TensorFlow (float32, int64 and
  float64 variables) to test the checkpoint reader on TensorFlow's own bytes.

musicnn's graph code (``musicnn.models.define_model``) is used unchanged: TF
2.x runs it with ``tf.compat.v1`` once eager execution is disabled and the
legacy Keras layers are selected (``TF_USE_LEGACY_KERAS=1``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "src"))  # genrekit's front-end is plain numpy; no install needed here

from genrekit.audio import load_audio  # noqa: E402
from genrekit.musicnn import frontend  # noqa: E402

EXAMPLES = REPO / "src" / "genrekit" / "data" / "examples"
MODELS = ("MSD_musicnn", "MTT_musicnn")
LAYERS = ("taggram", "penultimate", "max_pool", "mean_pool")


def synthetic(seconds: float = 3.1, sr: int = 16000) -> np.ndarray:
    """A loud test signal: a rising chirp, a low tone, clicks every 0.25 s and a little noise."""
    t = np.arange(int(seconds * sr)) / sr
    chirp = np.sin(2 * np.pi * (200 * t + 600 * t**2))
    tone = 0.5 * np.sin(2 * np.pi * 110 * t)
    clicks = np.zeros_like(t)
    clicks[:: sr // 4] = 4.0
    noise = 0.05 * np.random.default_rng(0).standard_normal(len(t))
    return (0.9 * (chirp + tone + noise) + clicks).astype(np.float32)


def input_patches(mel_basis: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Four 187-frame patches and one 64-frame patch, all float32, from genrekit's front-end."""
    sr = frontend.SAMPLE_RATE
    metal = load_audio(EXAMPLES / "metal_muldjord_armygeddon.ogg", sr, offset=60.0, duration=6.2)
    classical = load_audio(EXAMPLES / "classical_brahms_hungarian_dance_5.ogg", sr, offset=30.0, duration=3.1)
    jazz = load_audio(EXAMPLES / "jazz_kevin_macleod_vibe_ace.ogg", sr, offset=20.0, duration=3.1)
    sources = ["metal@60s", "metal@63s", "classical@30s", "synthetic"]
    mel = np.concatenate(
        [
            frontend.signal_patches(metal, mel_basis)[0][:2],
            frontend.signal_patches(classical, mel_basis)[0][:1],
            frontend.signal_patches(synthetic(), mel_basis)[0][:1],
        ]
    )
    short = frontend.log_mel(jazz, mel_basis)[None, 40:104]
    sources.append("jazz@20s frames 40-103 (mel_short)")
    return mel.astype(np.float32), np.ascontiguousarray(short, dtype=np.float32), sources


def run_musicnn(model: str, batches: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """musicnn's TensorFlow graph on each named batch (any number of frames per patch)."""
    import musicnn
    import tensorflow as tf
    from musicnn import models

    tf.compat.v1.disable_eager_execution()
    results: dict[str, np.ndarray] = {}
    for key, batch in batches.items():
        tf.compat.v1.reset_default_graph()
        x = tf.compat.v1.placeholder(tf.float32, [None, batch.shape[1], frontend.N_MELS])
        is_training = tf.compat.v1.placeholder(tf.bool)
        y, _timbral, _temporal, _c1, _c2, _c3, mean_pool, max_pool, penultimate = models.define_model(x, is_training, model, 50)
        taggram = tf.nn.sigmoid(y)
        with tf.compat.v1.Session() as sess:
            tf.compat.v1.train.Saver().restore(sess, os.path.join(os.path.dirname(musicnn.__file__), model) + "/")
            out = sess.run([taggram, penultimate, max_pool, mean_pool], feed_dict={x: batch, is_training: False})
        for layer, value in zip(LAYERS, out):
            results[f"{model}.{key}{layer}"] = np.asarray(value, dtype=np.float32)
    return results


def float16_bug(model: str, mel_power_patch: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """What musicnn's float16 cast does to a loud patch (for the record): non-finite inputs and outputs, output change."""
    import musicnn
    import tensorflow as tf
    from musicnn import models

    with np.errstate(over="ignore"):
        buggy = np.log10(10000 * mel_power_patch.astype(np.float16) + 1)
    tf.compat.v1.reset_default_graph()
    x = tf.compat.v1.placeholder(tf.float32, [None, buggy.shape[1], frontend.N_MELS])
    is_training = tf.compat.v1.placeholder(tf.bool)
    y = models.define_model(x, is_training, model, 50)[0]
    with tf.compat.v1.Session() as sess:
        tf.compat.v1.train.Saver().restore(sess, os.path.join(os.path.dirname(musicnn.__file__), model) + "/")
        out = sess.run(tf.nn.sigmoid(y), feed_dict={x: buggy, is_training: False})
    return {
        "nonfinite_inputs": int((~np.isfinite(buggy)).sum()),
        "nonfinite_outputs": int((~np.isfinite(out)).sum()),
        "max_abs_taggram_change": float(np.nanmax(np.abs(out - reference))),
    }


def write_tiny_checkpoint(folder: Path) -> None:
    """A small TensorFlow checkpoint with known contents (see tests/musicnn/test_checkpoint.py)."""
    import tensorflow as tf

    tf.compat.v1.reset_default_graph()
    for i in range(40):
        tf.compat.v1.get_variable(
            f"some/long/scope/name/for/compression/layer_{i:03d}/kernel",
            initializer=np.arange(i % 5 + 1, dtype=np.float32) * (i + 1),
        )
    tf.compat.v1.get_variable("ints", initializer=np.arange(6, dtype=np.int64).reshape(2, 3))
    tf.compat.v1.get_variable("f64", initializer=np.array([[1.5], [-2.25]], dtype=np.float64))
    with tf.compat.v1.Session() as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        tf.compat.v1.train.Saver().save(sess, str(folder / "ckpt"), write_meta_graph=False)
    (folder / "checkpoint").unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", type=Path, required=True, help="folder with genrekit's converted musicnn weights")
    parser.add_argument("--out", type=Path, default=REPO / "tests" / "musicnn" / "data")
    args = parser.parse_args()

    import tensorflow as tf

    with np.load(args.weights / "MSD_musicnn.npz", allow_pickle=False) as w:
        mel_basis = w["mel_basis"]
    mel, short, sources = input_patches(mel_basis)
    arrays: dict[str, np.ndarray] = {"mel": mel, "mel_short": short}
    for model in MODELS:
        arrays.update(run_musicnn(model, {"": mel, "short.": short}))

    # The float16 bug, measured on the loud metal patch.
    power = (10.0 ** mel[:1].astype(np.float64) - 1.0) / 10000.0
    bug = {model: float16_bug(model, power, arrays[f"{model}.taggram"][:1]) for model in MODELS}
    meta = {
        "tensorflow": tf.__version__,
        "musicnn": "0.1.0",
        "sources": sources,
        "float16_cast_on_patch0": bug,
    }
    arrays["meta"] = np.array(json.dumps(meta))
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out / "reference.npz", **arrays)
    (args.out / "tiny_ckpt").mkdir(exist_ok=True)
    write_tiny_checkpoint(args.out / "tiny_ckpt")
    print(json.dumps(meta, indent=2))
    print(
        f"wrote {args.out / 'reference.npz'} ({(args.out / 'reference.npz').stat().st_size} bytes) and {args.out / 'tiny_ckpt'}"
    )


if __name__ == "__main__":
    main()
