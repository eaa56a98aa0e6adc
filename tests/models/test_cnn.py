"""Spectrogram CNNs (genrekit.models.cnn): the networks, and torch <-> ONNX agreement of their export.

Tests that need torch skip (with the reason) when it is not installed. Training
them is tested in tests/trainers/test_cnn.py.
"""

from __future__ import annotations

import numpy as np
import pytest


# ----------------------------------------------------------------------------- torch <-> ONNX


def _randomise_batch_norms(net, torch, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.5)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)


def test_scratch_cnn_exports_to_onnx_with_the_same_probabilities(torch):
    from genrekit.models.cnn.arch import SmallVGG
    from genrekit.models.cnn.export import export_onnx, torch_probabilities
    import onnxruntime as ort

    torch.manual_seed(0)
    net = SmallVGG(4, n_mels=32, channels=(8, 16))
    _randomise_batch_norms(net, torch)
    proto = export_onnx(net, 50, 32, ["a", "b", "c", "d"])
    X = np.random.default_rng(0).random((5, 50 * 32)).astype(np.float32) * 3
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(["probabilities"], {"features": X})[0]
    want = torch_probabilities(net, X, 50, 32)
    assert got.shape == (5, 4)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert np.ptp(got, axis=0).max() > 1e-4  # the inputs do change the answer


def test_float16_weights_halve_the_file_and_keep_the_probabilities(torch):
    from onnx import TensorProto

    from genrekit.models.cnn.arch import SmallVGG
    from genrekit.models.cnn.export import check_export, export_onnx, store_weights_as_float16

    torch.manual_seed(1)
    net = SmallVGG(4, n_mels=32, channels=(16, 32, 64))
    _randomise_batch_norms(net, torch)
    full = export_onnx(net, 50, 32, ["a", "b", "c", "d"])
    half = store_weights_as_float16(full)
    assert len(half.SerializeToString()) < 0.6 * len(full.SerializeToString())
    big = [i for i in half.graph.initializer if np.prod(i.dims) >= 1024]
    assert big and all(i.data_type == TensorProto.FLOAT16 for i in big)
    assert {i.name for i in full.graph.initializer if i.data_type == TensorProto.FLOAT16} == set()  # input untouched
    X = np.random.default_rng(1).random((6, 50 * 32)).astype(np.float32) * 3
    err = check_export(half, net, X, 50, 32, atol=1e-2)
    assert 0 < err < 1e-2  # float16 rounding is visible, and small
    with pytest.raises(ValueError, match="not faithful"):
        check_export(half, net, X, 50, 32, atol=err / 2)


def test_torch_musicnn_reproduces_the_onnx_musicnn(torch, musicnn_weights):
    from genrekit.models.cnn.arch import MusicnnNet, load_musicnn
    from genrekit.musicnn.model import Musicnn

    net = load_musicnn(MusicnnNet(3), musicnn_weights, keep_tags=True).eval()
    mel = np.random.default_rng(2).random((2, 187, 96)).astype(np.float32) * 3
    with torch.no_grad():
        pen = net.penultimate(torch.from_numpy(mel))
        tags = torch.sigmoid(net.tags(pen)).numpy()
    ref = Musicnn(musicnn_weights).run(mel, outputs=("penultimate", "taggram"))
    np.testing.assert_allclose(pen.numpy(), ref["penultimate"], atol=1e-4)
    np.testing.assert_allclose(tags, ref["taggram"], atol=1e-5)


def test_musicnn_with_a_genre_head_exports_faithfully(torch, musicnn_weights):
    from genrekit.models.cnn.arch import MusicnnNet, load_musicnn
    from genrekit.models.cnn.export import check_export, export_onnx

    torch.manual_seed(1)
    net = load_musicnn(MusicnnNet(3), musicnn_weights).eval()
    proto = export_onnx(net, 187, 96, ["x", "y", "z"])
    X = np.random.default_rng(3).random((2, 187 * 96)).astype(np.float32) * 3
    assert check_export(proto, net, X, 187, 96, atol=1e-5) <= 1e-5
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("MaxPool") == 5  # the front-end is max-first


def test_a_model_file_exported_before_max_first_is_rewritten_to_the_same_answers(torch, musicnn_weights, tmp_path,
                                                                                  monkeypatch):
    from genrekit.audio import Windowing
    from genrekit.features import get_feature_set
    from genrekit.models import bundle
    from genrekit.models.card import ModelCard, ModelInfo, TrainingSummary
    from genrekit.models.cnn import export
    from genrekit.models.cnn.arch import MusicnnNet, load_musicnn

    labels = ["a", "b", "c"]
    net = load_musicnn(MusicnnNet(len(labels)), musicnn_weights).eval()
    with monkeypatch.context() as patch:
        patch.setattr(export, "pool_before_batch_norm", lambda proto, **_: 0)  # the exporter as it was
        plain = export.export_onnx(net, 187, 96, labels)
    assert "MaxPool" not in [n.op_type for n in plain.graph.node]
    card = ModelCard.build(labels=labels, feature_set=get_feature_set("musicnn_mel"), windowing=Windowing(2.976),
                           aggregation="mean", model=ModelInfo("cnn", {}),
                           training=TrainingSummary.of("records", [], split="train", n_windows=0), validation=None)
    old = bundle.save_model(tmp_path / "old.genre", plain, card)

    out, rewritten = export.max_first_file(old, tmp_path / "new.genre")

    assert rewritten == 5 and bundle.read_card(out).model.details["front_end"].startswith("max-first (5 branches")
    X = np.random.default_rng(4).random((3, 187 * 96)).astype(np.float32) * 3
    np.testing.assert_allclose(bundle.load_model(out).predict_proba(X), bundle.load_model(old).predict_proba(X),
                               atol=1e-5)
    with pytest.raises(ValueError, match="no Conv"):
        export.max_first_file(out, tmp_path / "again.genre")


def test_frozen_musicnn_layers_do_not_move(torch, musicnn_weights):
    from genrekit.models.cnn.arch import MusicnnNet, load_musicnn

    net = load_musicnn(MusicnnNet(2), musicnn_weights)
    net.set_pretrained_trainable(False)
    net.train()
    before = net.frontend["timbral74"].conv.weight.detach().clone()
    mean_before = net.input_bn.running_mean.clone()
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.1)
    loss = net(torch.rand(2, 187, 96) * 3).sum()
    loss.backward()
    opt.step()
    assert torch.equal(net.frontend["timbral74"].conv.weight, before)
    assert torch.equal(net.input_bn.running_mean, mean_before)  # frozen batch norms keep their statistics
    assert net.head.weight.grad is not None


def test_musicnn_splits_into_front_end_and_back_end(torch, musicnn_weights):
    from genrekit.models.cnn.arch import MusicnnNet, load_musicnn

    net = load_musicnn(MusicnnNet(3), musicnn_weights).eval()
    mel = torch.rand(2, 187, 96) * 3
    with torch.inference_mode():
        front = net.front_end(mel)
        assert front.shape == (2, 561, 187)
        torch.testing.assert_close(net.back_end(front), net(mel))


@pytest.mark.parametrize(("level", "moving", "still"), [
    ("head", {"head"}, {"input_bn", "frontend", "midend", "pool_bn", "dense", "dense_bn"}),
    ("midend", {"head", "midend", "dense", "dense_bn", "pool_bn"}, {"input_bn", "frontend"}),
    ("all", {"head", "midend", "dense", "frontend"}, set()),
])
def test_fine_tune_level_decides_which_pretrained_layers_learn(torch, musicnn_weights, level, moving, still):
    from genrekit.models.cnn.arch import MusicnnNet, load_musicnn

    net = load_musicnn(MusicnnNet(2, fine_tune=level), musicnn_weights)
    assert net.frozen_front_end == (level != "all")
    net.set_pretrained_trainable(True)
    net.train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    opt = torch.optim.SGD([p for g in net.param_groups(0.1, 1.0) for p in g["params"]], lr=0.1)
    loss = torch.nn.functional.cross_entropy(net(torch.rand(4, 187, 96) * 3), torch.tensor([0, 1, 0, 1]))
    loss.backward()
    opt.step()
    changed = {k.split(".")[0] for k, v in net.state_dict().items() if not torch.equal(v, before[k])}
    assert moving <= changed
    assert not (still & changed)  # neither weights nor batch-norm statistics of frozen layers move
