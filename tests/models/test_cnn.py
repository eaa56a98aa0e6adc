"""Spectrogram CNNs: the log-mel feature sets, torch <-> ONNX agreement, training, resuming, torch-free inference.

Tests that need torch skip (with the reason) when it is not installed; the
feature-set tests and the install hint run without it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

TINY = {"batch_size": 4, "max_steps": 2, "crops_per_track": 2, "arch": {"channels": [4, 8]}}


@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install 'genrekit[train]'): "
                                                "CNN training tests skipped")
    torch.set_num_threads(1)
    return torch


@pytest.fixture(scope="module")
def musicnn_weights():
    from genrekit.errors import ModelFileError
    from genrekit.musicnn.paths import weights_file
    from genrekit.musicnn.weights import load_weights

    try:
        return load_weights(weights_file("MSD_musicnn"))
    except ModelFileError as error:
        pytest.skip(f"musicnn weights not installed ({error})")


@pytest.fixture(scope="module")
def cnn_model(torch, tiny_collection: Path, tmp_path_factory: pytest.TempPathFactory):
    from genrekit.training import train

    out = tmp_path_factory.mktemp("cnn") / "cnn.genre"
    result = train(tiny_collection, out, model="cnn", init="scratch", epochs=2, seed=3, cnn_config=TINY)
    return result


# ----------------------------------------------------------------------------- without torch


def test_training_a_cnn_without_torch_names_the_extra(monkeypatch):
    from genrekit.models.cnn import train_cnn

    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"genrekit\[train\]"):
        train_cnn("unused", "unused.genre")


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


# ----------------------------------------------------------------------------- training


def test_cnn_model_file_predicts_and_evaluates_through_the_usual_pipeline(cnn_model, tiny_collection: Path):
    from genrekit.predict import load_model
    from genrekit.training import evaluate

    card = cnn_model.card
    assert card["model"]["kind"] == "cnn" and card["model"]["init"] == "scratch"
    assert card["feature_set"]["name"] == "logmel" and len(card["columns"]) == 130 * 96
    assert card["model"]["epochs_run"] == 2 and len(card["model"]["history"]) == 2
    assert card["validation"]["split"] == "valid" and card["validation"]["metrics"]["n_tracks"] == 4
    assert card["model"]["export_max_abs_diff"] < 1e-4
    classifier = load_model(cnn_model.path)
    prediction = classifier.predict(tiny_collection.parent / "tones" / "tone5.wav")
    assert set(prediction.probabilities) == {"noise", "tones"}
    assert abs(sum(prediction.probabilities.values()) - 1) < 1e-3
    result = evaluate(cnn_model.path, tiny_collection, split="valid")
    assert result.metrics["n_samples"] == 4
    # evaluate scores the same windows the same way as validation during training
    assert abs(result.metrics["accuracy"] - card["validation"]["metrics"]["accuracy"]) < 1e-9


def test_cnn_inference_does_not_import_torch(cnn_model, tiny_collection: Path):
    code = (
        "import sys\n"
        "from genrekit.predict import load_model\n"
        f"p = load_model({str(cnn_model.path)!r}).predict({str(tiny_collection.parent / 'noise' / 'noise4.wav')!r})\n"
        "assert 'torch' not in sys.modules, 'prediction imported torch'\n"
        "print(p.genre, sum(p.probabilities.values()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    genre, total = out.stdout.split()
    assert genre in {"noise", "tones"} and abs(float(total) - 1) < 1e-3


def _valid_probabilities(path: Path, tiny_collection: Path) -> np.ndarray:
    from genrekit.predict import load_model

    classifier = load_model(path)
    files = sorted((tiny_collection.parent).glob("*/*[45].wav"))
    return np.array([[p for _, p in sorted(classifier.predict(f).probabilities.items())] for f in files])


def test_training_is_deterministic_and_a_killed_run_resumes_to_the_same_model(
        torch, cnn_model, tiny_collection: Path, tmp_path: Path):
    from genrekit.models.cnn.train import train_cnn

    again = train_cnn(tiny_collection, tmp_path / "again.genre", epochs=2, seed=3, config=TINY)
    np.testing.assert_array_equal(_valid_probabilities(again.path, tiny_collection),
                                  _valid_probabilities(cnn_model.path, tiny_collection))

    # "killed" after epoch 1: its checkpoint stays; the rerun picks up at epoch 2.
    out = tmp_path / "resumed.genre"
    first = train_cnn(tiny_collection, out, epochs=1, seed=3, config=TINY, keep_checkpoint=True)
    assert first.card["model"]["epochs_run"] == 1 and (tmp_path / "resumed.genre.ckpt").exists()
    resumed = train_cnn(tiny_collection, out, epochs=2, seed=3, config=TINY)
    assert resumed.card["model"]["resumed_from_epoch"] == 1
    assert not (tmp_path / "resumed.genre.ckpt").exists()
    np.testing.assert_array_equal(_valid_probabilities(out, tiny_collection),
                                  _valid_probabilities(cnn_model.path, tiny_collection))

    other_seed = train_cnn(tiny_collection, tmp_path / "other.genre", epochs=2, seed=4, config=TINY)
    assert not np.array_equal(_valid_probabilities(other_seed.path, tiny_collection),
                              _valid_probabilities(cnn_model.path, tiny_collection))


def test_a_checkpoint_of_another_run_is_refused(torch, tiny_collection: Path, tmp_path: Path):
    from genrekit.models.cnn.train import train_cnn

    out = tmp_path / "m.genre"
    train_cnn(tiny_collection, out, epochs=1, seed=0, config=TINY, keep_checkpoint=True)
    with pytest.raises(ValueError, match="different training run"):
        train_cnn(tiny_collection, out, epochs=2, seed=1, config=TINY)


def test_musicnn_fine_tuning_runs_and_keeps_the_pretrained_front_end_frozen_first(
        torch, musicnn_weights, tiny_collection: Path, tmp_path: Path):
    from genrekit.models.cnn.train import train_cnn
    from genrekit.predict import load_model

    config = {"batch_size": 2, "max_steps": 1, "crops_per_track": 1, "freeze_epochs": 1}
    result = train_cnn(tiny_collection, tmp_path / "mn.genre", init="musicnn", epochs=2, seed=0, config=config)
    card = result.card
    assert card["feature_set"]["name"] == "musicnn_mel" and card["model"]["architecture"] == "MusicnnNet"
    assert card["model"]["fine_tune"] == "head" and card["model"]["export_max_abs_diff"] < 1e-4
    assert card["model"]["pretrained"]["model"] == "MSD_musicnn"
    assert card["windowing"]["window"] == pytest.approx(2.976)
    assert load_model(result.path).predict(tiny_collection.parent / "tones" / "tone4.wav").genre in {"noise", "tones"}


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


def test_cached_front_end_holds_what_the_network_computes(torch, musicnn_weights, tiny_collection: Path):
    from genrekit.audio import Windowing
    from genrekit.datasets import load_dataset
    from genrekit.models.cnn.arch import MusicnnNet, load_musicnn
    from genrekit.models.cnn.train import CNNConfig, _CachedFrontEnd, _decode, _train_tracks, _valid_windows
    from genrekit.models.cnn.train import feature_set_for

    fs = feature_set_for("musicnn")
    records = [r for r in load_dataset(tiny_collection) if r.split == "train"][:2]
    label_index = {"noise": 0, "tones": 1}
    decoded = _decode(records, fs, label_index, [], lambda *_: None)
    tracks = _train_tracks(decoded, fs, label_index)
    valid = _valid_windows(decoded, fs, Windowing(window=fs.patch_seconds))
    net = load_musicnn(MusicnnNet(2), musicnn_weights)
    cfg = CNNConfig(init="musicnn", cache_stride=0.5, gain_db=0.0)
    seen = []
    cache = _CachedFrontEnd(net, tracks, valid, fs, cfg, seed=0, report=seen.append)

    # patches start every 0.5 s, and the last one ends at the track's end
    for mel, front in zip(tracks.mels, cache.front):
        last = len(mel) - fs.n_frames
        starts = sorted({*range(0, last + 1, round(0.5 * fs.sample_rate / fs.hop_length)), last})
        assert len(front) == len(starts) and front.dtype == torch.float16
        with torch.inference_mode():
            want = net.eval().front_end(torch.from_numpy(fs.compress(mel[last:last + fs.n_frames]))[None])[0]
        torch.testing.assert_close(front[-1].float(), want, rtol=1e-2, atol=1e-2)
    assert cache.held_out_front.shape == (len(valid.X), 561, fs.n_frames)
    assert seen[-1].phase == "cache" and seen[-1].step == seen[-1].steps == sum(map(len, cache.front)) + len(valid.X)
    # validation from the cache agrees with the full network on the prediction patches
    from genrekit.models.cnn.export import torch_probabilities

    np.testing.assert_allclose(cache.held_out_probabilities(), torch_probabilities(net, valid.X, fs.n_frames, fs.n_mels),
                               atol=1e-2)


def test_early_stopping_holds_out_train_tracks_and_leaves_valid_unseen(torch, tiny_collection: Path, tmp_path: Path):
    from genrekit.datasets import load_dataset
    from genrekit.models.cnn.train import CNNConfig, _stopping_split, train_cnn

    train_records = [r for r in load_dataset(tiny_collection) if r.split == "train"]
    decoded = [(r, None) for r in train_records]
    fit, stop = _stopping_split(decoded, CNNConfig(stop_fraction=0.25), seed=0)
    assert stop and fit and len(fit) + len(stop) == len(train_records)
    assert not {r.group for r, _ in fit} & {r.group for r, _ in stop}
    assert {r.label for r, _ in stop} == {r.label for r in train_records}  # stratified
    assert _stopping_split(decoded, CNNConfig(stop_on="valid"), seed=0) == (decoded, [])

    honest = train_cnn(tiny_collection, tmp_path / "a.genre", epochs=1, seed=0, config=TINY).card
    assert honest["training"]["early_stopping"]["on"] == "train"
    assert honest["training"]["n_tracks"] + honest["training"]["early_stopping"]["n_tracks"] == len(train_records)
    assert "unseen" in honest["validation"]["note"]
    on_valid = train_cnn(tiny_collection, tmp_path / "b.genre", epochs=1, seed=0, config=TINY | {"stop_on": "valid"}).card
    assert on_valid["training"]["n_tracks"] == len(train_records)
    assert "optimistic" in on_valid["validation"]["note"]
    with pytest.raises(ValueError, match="stop_on"):
        train_cnn(tiny_collection, tmp_path / "c.genre", epochs=1, config=TINY | {"stop_on": "test"})


def test_cli_fine_tune_is_only_for_musicnn(tiny_collection: Path, tmp_path: Path):
    from typer.testing import CliRunner

    from genrekit.cli import app

    result = CliRunner().invoke(app, ["train", str(tiny_collection), "--model", "cnn", "--fine-tune", "head",
                                      "--out", str(tmp_path / "x.genre"), "--quiet"])
    assert result.exit_code == 2 and "--fine-tune is for --model cnn --init musicnn" in result.output
    assert not (tmp_path / "x.genre").exists()


def test_cli_trains_a_cnn(torch, tiny_collection: Path, tmp_path: Path):
    from typer.testing import CliRunner

    from genrekit.cli import app

    out = tmp_path / "cli.genre"
    result = CliRunner().invoke(app, ["train", str(tiny_collection), "--model", "cnn", "--epochs", "1",
                                      "--seed", "1", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "cnn (scratch) on logmel" in result.stdout and "valid split (4 tracks)" in result.stdout
    assert out.is_file()
