"""genrekit's ONNX networks against musicnn's own TensorFlow graphs, on the same float32 log-mel patches.

The reference outputs were recorded once with TensorFlow 2.21 and musicnn 0.1.0
(scripts/musicnn/record_reference.py: reference.npz for the musicnn networks,
reference_vgg.npz for the vgg ones); no TensorFlow is needed here. What is
compared with them is always computed here, by genrekit: each network built
in float32 from the wheel's checkpoint (within 1e-4 of TensorFlow), and each
network as shipped, with float16 kernels (within the error its manifest
records, measured against the float32 build). The last tests check that the
comparison can fail: a 1% error in one layer, or another model's outputs, are
far outside the tolerance.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from genrekit.audio import load_audio
from genrekit.musicnn.labels import labels_for
from genrekit.musicnn.paths import MODELS, MUSICNN_MODELS

VGG_MODELS = tuple(m for m in MODELS if m not in MUSICNN_MODELS)
OUTPUTS = ("taggram", "penultimate", "max_pool", "mean_pool")
TOL = 1e-4
RECORDER = Path(__file__).resolve().parents[2] / "scripts" / "musicnn" / "record_reference.py"


def recorded(model: str, reference: dict, reference_vgg: dict) -> dict:
    return reference_vgg if "vgg" in model else reference


def assert_matches_tensorflow(out: dict[str, np.ndarray], reference: dict, model: str, key: str = "") -> None:
    """``out`` (genrekit's outputs) equals the TensorFlow outputs recorded as ``<model>.<key><layer>``."""
    for layer in ("taggram", "penultimate"):
        expected = reference[f"{model}.{key}{layer}"]
        assert out[layer].shape == expected.shape
        np.testing.assert_allclose(out[layer], expected, rtol=0, atol=TOL, err_msg=f"{model} {key}{layer}")
    for layer in ("max_pool", "mean_pool"):  # musicnn's values reach ~100: compare relative to their size
        if layer in out:
            expected = reference[f"{model}.{key}{layer}"]
            np.testing.assert_allclose(
                out[layer], expected, rtol=1e-5, atol=TOL * max(1.0, np.abs(expected).max()), err_msg=f"{model} {key}{layer}"
            )


@pytest.fixture(scope="module")
def recorder():
    """scripts/musicnn/record_reference.py as a module (its input recipe is genrekit.musicnn.probe)."""
    spec = importlib.util.spec_from_file_location("record_reference", RECORDER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("model", MODELS)
def test_float32_networks_match_tensorflow(float32_nets, reference, reference_vgg, model):
    out = float32_nets[model].run(reference["mel"], OUTPUTS)
    assert_matches_tensorflow(out, recorded(model, reference, reference_vgg), model)
    if model in MUSICNN_MODELS:  # musicnn takes any length: the recorded 64-frame patch
        short = float32_nets[model].run(reference["mel_short"], OUTPUTS)
        assert_matches_tensorflow(short, reference, model, "short.")


@pytest.mark.parametrize("model", MODELS)
def test_shipped_networks_give_the_float32_results_within_the_recorded_float16_error(
    float32_nets, musicnn_dir, shipped_manifest, reference, model
):
    """The recorded figure is the converter's own measurement on these patches, to 2 significant digits."""
    from genrekit.musicnn.model import load

    shipped = load(model, musicnn_dir).run(reference["mel"], OUTPUTS)
    full = float32_nets[model].run(reference["mel"], OUTPUTS)
    recorded_error = shipped_manifest["models"][model]["float16_error"]
    for name in OUTPUTS:
        error = np.abs(shipped[name].astype(np.float64) - full[name]).max()
        assert 0 < error <= recorded_error[name]["max_abs"] * 1.06, name  # float16 rounding is visible, and bounded
    assert recorded_error["taggram"]["max_abs"] < 2e-4  # what the manifest promises users: tags move by < 2e-4


@pytest.mark.parametrize("model", MODELS)
def test_shipped_networks_match_tensorflow_within_their_float16_error(
    musicnn_dir, shipped_manifest, reference, reference_vgg, model
):
    """Without the wheel: the shipped files against TensorFlow, allowing the recorded float16 error."""
    from genrekit.musicnn.model import load

    expected = recorded(model, reference, reference_vgg)
    out = load(model, musicnn_dir).run(reference["mel"], OUTPUTS)
    for name in OUTPUTS:
        allowed = shipped_manifest["models"][model]["float16_error"][name]["max_abs"] * 1.06 + TOL * max(
            1.0, np.abs(expected[f"{model}.{name}"]).max())
        np.testing.assert_allclose(out[name], expected[f"{model}.{name}"], rtol=0, atol=allowed, err_msg=name)


def test_the_front_end_still_cuts_the_recorded_patches(recorder, msd, reference):
    """Today's front-end, on the recorder's audio, gives the patches TensorFlow was run on."""
    mel, short, sources = recorder.input_patches(msd.mel_basis)
    # The patches were recorded with a float32 FFT; today's float64 one differs from them by up to 1.2e-5
    # (log10 units, values up to ~5); the network's outputs still match TensorFlow's (next test).
    np.testing.assert_allclose(mel, reference["mel"], rtol=0, atol=2e-5)
    np.testing.assert_allclose(short, reference["mel_short"], rtol=0, atol=2e-5)
    assert sources == reference["meta"]["sources"]


@pytest.mark.parametrize("model", ["MSD_musicnn", "MTT_vgg"])
def test_audio_to_tags_matches_tensorflow(float32_nets, reference, reference_vgg, examples_dir, model):
    """The whole pipeline: the recorded sources (metal 6.2 s -> 2 patches, classical, synthetic) through analyze_many."""
    from genrekit.musicnn.probe import synthetic

    metal = load_audio(examples_dir / "metal_muldjord_armygeddon.ogg", 16000, offset=60.0, duration=6.2)
    classical = load_audio(examples_dir / "classical_brahms_hungarian_dance_5.ogg", 16000, offset=30.0, duration=3.1)
    outs = float32_nets[model].analyze_many([metal, classical, synthetic()], 16000, midend=True)
    assert [len(o.taggram) for o in outs] == [2, 1, 1]
    out = {
        "taggram": np.concatenate([o.taggram for o in outs]),
        "penultimate": np.concatenate([o.penultimate for o in outs]),
    }
    assert_matches_tensorflow(out, recorded(model, reference, reference_vgg), model)
    midend = np.concatenate([o.midend for o in outs])  # max_pool then mean_pool
    width = midend.shape[1] // 2
    expected = recorded(model, reference, reference_vgg)
    np.testing.assert_allclose(midend[:, :width], expected[f"{model}.max_pool"], rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(midend[:, width:], expected[f"{model}.mean_pool"], rtol=1e-4, atol=1e-3)


def test_the_fixtures_hold_nontrivial_recorded_outputs(reference, reference_vgg):
    """The fixtures themselves (no genrekit code): shapes, distinct tags per patch, and the recorded float16 bug."""
    assert reference["mel"].shape == (4, 187, 96)
    assert reference["mel_short"].shape == (1, 64, 96)
    assert reference["mel"].dtype == np.float32
    for model, width, mid in (("MSD_musicnn", 200, 753), ("MSD_vgg", 256, 128), ("MTT_vgg", 256, 128)):
        fixture = reference_vgg if "vgg" in model else reference
        assert fixture[f"{model}.taggram"].shape == (4, 50)
        assert fixture[f"{model}.penultimate"].shape == (4, width)
        assert fixture[f"{model}.max_pool"].shape == (4, mid)
        # The reference outputs are not trivial: the patches get different tags.
        assert len({int(np.argmax(row)) for row in fixture[f"{model}.taggram"]}) >= 2
    assert reference_vgg["meta"]["models"] == list(VGG_MODELS)
    # Recorded for the record: musicnn's float16 cast turned bins of the loud metal patch into inf
    # and moved its tag scores by a lot.
    bug = reference["meta"]["float16_cast_on_patch0"]["MSD_musicnn"]
    assert bug["nonfinite_inputs"] > 0 and bug["max_abs_taggram_change"] > 0.1


@pytest.mark.parametrize("model, weight", [("MSD_musicnn", "timbral74.bn.gamma"), ("MSD_musicnn", "midend3.kernel"),
                                           ("MSD_musicnn", "dense.bias"), ("MSD_vgg", "conv3.kernel"),
                                           ("MTT_vgg", "conv5.bn.moving_mean")])
def test_parity_fails_for_a_one_percent_error_in_one_layer(float32_weights, reference, reference_vgg, model, weight):
    """The tolerance is tight enough to catch a small conversion error anywhere in the network."""
    from genrekit.musicnn.model import Musicnn

    weights = dict(float32_weights[model])
    weights[weight] = weights[weight] * np.float32(1.01) + np.float32(0.01 * np.abs(weights[weight]).mean())
    out = Musicnn(weights, model).run(reference["mel"], ("taggram", "penultimate"))
    with pytest.raises(AssertionError):
        assert_matches_tensorflow(out, recorded(model, reference, reference_vgg), model)


def test_parity_fails_against_the_other_models_outputs(msd, msd_vgg, reference, reference_vgg):
    out = msd.run(reference["mel"], ("taggram", "penultimate"))
    with pytest.raises(AssertionError):
        assert_matches_tensorflow(out, reference, "MTT_musicnn")
    assert np.abs(out["taggram"] - reference["MTT_musicnn.taggram"]).max() > 100 * TOL
    vgg = msd_vgg.run(reference["mel"], ("taggram", "penultimate"))
    with pytest.raises(AssertionError):
        assert_matches_tensorflow(vgg, reference_vgg, "MTT_vgg")


@pytest.mark.parametrize("model", ["MSD_musicnn", "MSD_vgg"])
def test_the_onnx_graph_is_valid_and_has_the_documented_interface(float32_weights, model):
    import onnx

    from genrekit.musicnn.weights import network_proto

    full = network_proto(float32_weights[model], model)
    onnx.checker.check_model(full, full_check=True)
    assert [i.name for i in full.graph.input] == ["mel"]
    assert [o.name for o in full.graph.output] == ["taggram", "penultimate", "max_pool", "mean_pool", "logits"]
    assert all(t.data_type == onnx.TensorProto.FLOAT for t in full.graph.initializer if t.name.endswith((".W", ".B")))
    half = network_proto(float32_weights[model], model, half=True)
    halved = {t.name for t in half.graph.initializer if t.data_type == onnx.TensorProto.FLOAT16}
    assert halved and all(name.endswith(".W__float16") for name in halved)  # kernels only, never biases or BN
    assert len(half.SerializeToString()) < 0.75 * len(full.SerializeToString())


def test_sigmoid_of_logits_is_the_taggram(msd, msd_vgg, reference):
    for net in (msd, msd_vgg):
        out = net.run(reference["mel"][:2], ("taggram", "logits"))
        np.testing.assert_allclose(out["taggram"], 1 / (1 + np.exp(-out["logits"])), atol=1e-6)
        assert len(labels_for(net.model)) == out["taggram"].shape[1]
