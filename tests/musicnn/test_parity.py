"""genrekit's musicnn against musicnn's own TensorFlow graph, on the same float32 log-mel patches.

The reference outputs were recorded once with TensorFlow 2.21 and musicnn 0.1.0
(scripts/musicnn/record_reference.py); no TensorFlow is needed here.
"""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.musicnn.labels import labels_for

MODELS = ("MSD_musicnn", "MTT_musicnn")
TOL = 1e-4


@pytest.fixture(scope="module", params=MODELS)
def net(request, musicnn_dir):
    from genrekit.musicnn.model import load

    return load(request.param, musicnn_dir)


@pytest.mark.parametrize("key", ["", "short."])
def test_tags_and_penultimate_match_tensorflow(net, reference, key):
    mel = reference["mel"] if key == "" else reference["mel_short"]
    out = net.run(mel, ("taggram", "penultimate", "max_pool", "mean_pool"))
    for layer in ("taggram", "penultimate"):
        expected = reference[f"{net.model}.{key}{layer}"]
        assert out[layer].shape == expected.shape
        np.testing.assert_allclose(out[layer], expected, rtol=0, atol=TOL, err_msg=f"{net.model} {key}{layer}")
    for layer in ("max_pool", "mean_pool"):  # values up to ~100: compare relative to their size
        expected = reference[f"{net.model}.{key}{layer}"]
        np.testing.assert_allclose(out[layer], expected, rtol=1e-5, atol=TOL * np.abs(expected).max())


def test_reference_patches_are_what_the_fixture_says(reference):
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
