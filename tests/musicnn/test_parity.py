"""genrekit's ONNX musicnn against musicnn's own TensorFlow graph, on the same float32 log-mel patches.

The reference outputs were recorded once with TensorFlow 2.21 and musicnn 0.1.0
(scripts/musicnn/record_reference.py); no TensorFlow is needed here. What is
compared with them is always computed here, by genrekit: the network
(:meth:`Musicnn.run` on the recorded patches), and the whole pipeline
(:meth:`Musicnn.analyze_many` on the audio the patches were cut from). The
last tests check that the comparison can fail: a 1% error in one layer, or
the other model's outputs, are far outside the tolerance.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from genrekit.audio import load_audio
from genrekit.musicnn.labels import labels_for

MODELS = ("MSD_musicnn", "MTT_musicnn")
TOL = 1e-4
RECORDER = Path(__file__).resolve().parents[2] / "scripts" / "musicnn" / "record_reference.py"


def assert_matches_tensorflow(out: dict[str, np.ndarray], reference: dict, model: str, key: str = "") -> None:
    """``out`` (genrekit's outputs) equals the TensorFlow outputs recorded as ``<model>.<key><layer>``."""
    for layer in ("taggram", "penultimate"):
        expected = reference[f"{model}.{key}{layer}"]
        assert out[layer].shape == expected.shape
        np.testing.assert_allclose(out[layer], expected, rtol=0, atol=TOL, err_msg=f"{model} {key}{layer}")
    for layer in ("max_pool", "mean_pool"):  # values up to ~100: compare relative to their size
        if layer in out:
            expected = reference[f"{model}.{key}{layer}"]
            np.testing.assert_allclose(
                out[layer], expected, rtol=1e-5, atol=TOL * np.abs(expected).max(), err_msg=f"{model} {key}{layer}"
            )


@pytest.fixture(scope="module")
def recorder():
    """scripts/musicnn/record_reference.py as a module (its input recipe is plain numpy and genrekit)."""
    spec = importlib.util.spec_from_file_location("record_reference", RECORDER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", params=MODELS)
def net(request, musicnn_dir):
    from genrekit.musicnn.model import load

    return load(request.param, musicnn_dir)


@pytest.mark.parametrize("key", ["", "short."])
def test_tags_and_penultimate_match_tensorflow(net, reference, key):
    mel = reference["mel"] if key == "" else reference["mel_short"]
    out = net.run(mel, ("taggram", "penultimate", "max_pool", "mean_pool"))
    assert_matches_tensorflow(out, reference, net.model, key)


def test_the_front_end_still_cuts_the_recorded_patches(recorder, msd, reference):
    """Today's front-end, on the recorder's audio, gives the patches TensorFlow was run on."""
    mel, short, _sources = recorder.input_patches(msd.mel_basis)
    # The patches were recorded with a float32 FFT; today's float64 one differs from them by up to 1.2e-5
    # (log10 units, values up to ~5); the network's outputs still match TensorFlow's (next test).
    np.testing.assert_allclose(mel, reference["mel"], rtol=0, atol=2e-5)
    np.testing.assert_allclose(short, reference["mel_short"], rtol=0, atol=2e-5)


def test_audio_to_tags_matches_tensorflow(net, reference, recorder, examples_dir):
    """The whole pipeline: the recorded sources (metal 6.2 s -> 2 patches, classical, synthetic) through analyze_many."""
    metal = load_audio(examples_dir / "metal_muldjord_armygeddon.ogg", 16000, offset=60.0, duration=6.2)
    classical = load_audio(examples_dir / "classical_brahms_hungarian_dance_5.ogg", 16000, offset=30.0, duration=3.1)
    outs = net.analyze_many([metal, classical, recorder.synthetic()], 16000)
    assert [len(o.taggram) for o in outs] == [2, 1, 1]
    out = {
        "taggram": np.concatenate([o.taggram for o in outs]),
        "penultimate": np.concatenate([o.penultimate for o in outs]),
    }
    assert_matches_tensorflow(out, reference, net.model)


def test_the_fixture_holds_nontrivial_recorded_outputs(reference):
    """The fixture itself (no genrekit code): shapes, distinct tags per patch, and the recorded float16 bug."""
    assert reference["mel"].shape == (4, 187, 96)
    assert reference["mel_short"].shape == (1, 64, 96)
    assert reference["mel"].dtype == np.float32
    # The reference outputs are not trivial: the patches get different tags.
    taggram = reference["MSD_musicnn.taggram"]
    assert taggram.shape == (4, 50)
    assert len({int(np.argmax(row)) for row in taggram}) >= 2
    # Recorded for the record: musicnn's float16 cast turned bins of the loud metal patch into inf
    # and moved its tag scores by a lot.
    bug = reference["meta"]["float16_cast_on_patch0"]["MSD_musicnn"]
    assert bug["nonfinite_inputs"] > 0 and bug["max_abs_taggram_change"] > 0.1


@pytest.mark.parametrize("weight", ["timbral74.bn.gamma", "midend3.kernel", "dense.bias"])
def test_parity_fails_for_a_one_percent_error_in_one_layer(musicnn_dir, reference, weight):
    """The tolerance is tight enough to catch a small conversion error anywhere in the network."""
    from genrekit.musicnn.model import Musicnn
    from genrekit.musicnn.weights import load_weights

    weights = dict(load_weights(musicnn_dir / "MSD_musicnn.npz"))
    weights[weight] = weights[weight] * np.float32(1.01) + np.float32(0.01 * np.abs(weights[weight]).mean())
    out = Musicnn(weights, "MSD_musicnn").run(reference["mel"], ("taggram", "penultimate"))
    with pytest.raises(AssertionError):
        assert_matches_tensorflow(out, reference, "MSD_musicnn")


def test_parity_fails_against_the_other_models_outputs(msd, reference):
    out = msd.run(reference["mel"], ("taggram", "penultimate"))
    with pytest.raises(AssertionError):
        assert_matches_tensorflow(out, reference, "MTT_musicnn")
    assert np.abs(out["taggram"] - reference["MTT_musicnn.taggram"]).max() > 100 * TOL


def test_the_onnx_graph_is_valid_and_has_the_documented_interface(musicnn_dir):
    import onnx

    from genrekit.musicnn.graph import build_onnx
    from genrekit.musicnn.weights import load_weights

    model = build_onnx(load_weights(musicnn_dir / "MSD_musicnn.npz"), check=True)
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["mel"]
    assert [o.name for o in model.graph.output] == ["taggram", "penultimate", "max_pool", "mean_pool", "logits"]
    assert all(t.data_type == onnx.TensorProto.FLOAT for t in model.graph.initializer if t.name.endswith((".W", ".B")))


def test_sigmoid_of_logits_is_the_taggram(msd, reference):
    out = msd.run(reference["mel"][:2], ("taggram", "logits"))
    np.testing.assert_allclose(out["taggram"], 1 / (1 + np.exp(-out["logits"])), atol=1e-6)
    assert len(labels_for("MSD_musicnn")) == out["taggram"].shape[1]
