"""Record musicnn's own (TensorFlow) outputs once, as test fixtures for genrekit's re-implementation.

Run in a throwaway virtual environment that has TensorFlow; genrekit itself
never needs it::

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu 'tf-keras~=2.21.0' soundfile soxr scipy
    /tmp/tfvenv/bin/pip install --no-deps musicnn==0.1.0
    TF_USE_LEGACY_KERAS=1 /tmp/tfvenv/bin/python scripts/musicnn/record_reference.py \\
        --weights src/genrekit/data/models/musicnn --out tests/musicnn/data [--models MSD_vgg MTT_vgg]

(``--weights``: a folder of genrekit's networks; only its ``mel_basis.npy`` is read.)

What it writes (``--out``):

* ``reference.npz``: float32 log-mel patches computed by genrekit's front-end
  (``mel``: 4 patches of 187 frames from the example recordings and a
  synthetic signal; ``mel_short``: one 64-frame patch), and for
  ``MSD_musicnn`` and ``MTT_musicnn`` the TensorFlow outputs on exactly those
  patches: ``<model>.taggram``, ``.penultimate``, ``.max_pool``,
  ``.mean_pool``, plus ``<model>.short.*`` for the short patch; ``meta`` (JSON).
* ``reference_vgg.npz``: for ``MSD_vgg`` and ``MTT_vgg``, the TensorFlow outputs
  on the same four patches (read from ``reference.npz``, so that both files
  share their inputs): ``<model>.taggram``, ``.penultimate`` (``pool5``
  flattened, what the output layer reads), ``.max_pool`` and ``.mean_pool``
  (the last conv block after its batch norm, over time and frequency); ``meta``.
* ``tiny_ckpt/``: a small checkpoint written by TensorFlow (float32, int64 and
  float64 variables) to test the checkpoint reader on TensorFlow's own bytes.

The musicnn networks' files are written only when ``--models`` names one of
them, the vgg file only when it names a vgg network (default: all four).

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

from genrekit.musicnn import frontend  # noqa: E402

MODELS = ("MSD_musicnn", "MTT_musicnn")
VGG_MODELS = ("MSD_vgg", "MTT_vgg")
LAYERS = ("taggram", "penultimate", "max_pool", "mean_pool")


def input_patches(mel_basis: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Four 187-frame patches and one 64-frame patch (see :mod:`genrekit.musicnn.probe`)."""
    from genrekit.musicnn.probe import input_patches as probe_patches  # decodes the examples: needs genrekit.audio

    return probe_patches(mel_basis)


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


def run_vgg(model: str, mel: np.ndarray) -> dict[str, np.ndarray]:
    """musicnn's TensorFlow ``vgg`` graph on 187-frame patches: tags, flattened pool5, the last block pooled."""
    import musicnn
    import tensorflow as tf
    from musicnn import models

    tf.compat.v1.disable_eager_execution()
    tf.compat.v1.reset_default_graph()
    x = tf.compat.v1.placeholder(tf.float32, [None, mel.shape[1], frontend.N_MELS])
    is_training = tf.compat.v1.placeholder(tf.bool)
    y, _p1, _p2, _p3, _p4, pool5 = models.define_model(x, is_training, model, 50)
    block5 = pool5.op.inputs[0]  # bn_conv5: the input of the last max-pooling
    taggram = tf.nn.sigmoid(y)
    penultimate = tf.reshape(pool5, [-1, int(np.prod(pool5.shape[1:]))])
    max_pool = tf.reduce_max(block5, axis=[1, 2])
    mean_pool = tf.reduce_mean(block5, axis=[1, 2])
    with tf.compat.v1.Session() as sess:
        tf.compat.v1.train.Saver().restore(sess, os.path.join(os.path.dirname(musicnn.__file__), model) + "/")
        out = sess.run([taggram, penultimate, max_pool, mean_pool], feed_dict={x: mel, is_training: False})
    return {f"{model}.{layer}": np.asarray(value, dtype=np.float32) for layer, value in zip(LAYERS, out)}


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
    parser.add_argument("--weights", type=Path, required=True, help="folder of genrekit's musicnn networks (mel_basis.npy)")
    parser.add_argument("--out", type=Path, default=REPO / "tests" / "musicnn" / "data")
    parser.add_argument("--models", nargs="+", choices=MODELS + VGG_MODELS, default=list(MODELS + VGG_MODELS))
    args = parser.parse_args()

    import tensorflow as tf

    args.out.mkdir(parents=True, exist_ok=True)
    musicnn_models = [m for m in MODELS if m in args.models]
    vgg_models = [m for m in VGG_MODELS if m in args.models]
    if musicnn_models:
        mel_basis = np.load(args.weights / "mel_basis.npy", allow_pickle=False)
        mel, short, sources = input_patches(mel_basis)
        arrays: dict[str, np.ndarray] = {"mel": mel, "mel_short": short}
        for model in musicnn_models:
            arrays.update(run_musicnn(model, {"": mel, "short.": short}))

        # The float16 bug, measured on the loud metal patch.
        power = (10.0 ** mel[:1].astype(np.float64) - 1.0) / 10000.0
        bug = {model: float16_bug(model, power, arrays[f"{model}.taggram"][:1]) for model in musicnn_models}
        meta = {"tensorflow": tf.__version__, "musicnn": "0.1.0", "sources": sources, "float16_cast_on_patch0": bug}
        arrays["meta"] = np.array(json.dumps(meta))
        np.savez_compressed(args.out / "reference.npz", **arrays)
        (args.out / "tiny_ckpt").mkdir(exist_ok=True)
        write_tiny_checkpoint(args.out / "tiny_ckpt")
        print(json.dumps(meta, indent=2))
        print(f"wrote {args.out / 'reference.npz'} and {args.out / 'tiny_ckpt'}")
    if vgg_models:
        with np.load(args.out / "reference.npz", allow_pickle=False) as recorded:
            mel = recorded["mel"]
        vgg: dict[str, np.ndarray] = {}
        for model in vgg_models:
            vgg.update(run_vgg(model, mel))
        meta = {"tensorflow": tf.__version__, "musicnn": "0.1.0",
                "inputs": "the 187-frame patches 'mel' of reference.npz", "models": vgg_models}
        vgg["meta"] = np.array(json.dumps(meta))
        np.savez_compressed(args.out / "reference_vgg.npz", **vgg)
        print(f"wrote {args.out / 'reference_vgg.npz'} ({(args.out / 'reference_vgg.npz').stat().st_size} bytes)")


if __name__ == "__main__":
    main()
