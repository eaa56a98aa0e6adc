"""Running musicnn on audio: batching, padding, resampling, pooling, and sensible tags on the example recordings."""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.audio import load_audio

METAL_TAGS = ("metal", "heavy metal", "hard rock")
UNRELATED_TAGS = ("jazz", "pop", "country", "Hip-Hop", "House", "soul", "rnb", "easy listening", "dance", "folk")
ROCK_FAMILY = ("metal", "heavy metal", "hard rock", "rock", "punk", "classic rock")


@pytest.fixture(scope="module")
def example_outputs(msd, examples_dir):
    """MSD_musicnn on the first 90 s of the four example recordings."""
    files = sorted(p for p in examples_dir.iterdir() if p.suffix in (".ogg", ".mp3"))
    signals = [load_audio(p, 16000, duration=90.0) for p in files]  # 30 patches each: enough, and fast
    return {p.name.split("_")[0]: out for p, out in zip(files, msd.analyze_many(signals, 16000))}


def test_the_metal_example_ranks_metal_tags_above_unrelated_ones(example_outputs):
    out = example_outputs["metal"]
    scores = dict(zip(out.labels, out.tag_scores))
    assert out.top_tags(1)[0][0] == "metal"
    assert min(scores[t] for t in METAL_TAGS) > max(scores[t] for t in UNRELATED_TAGS)


def test_the_classical_example_is_not_called_rock_or_metal(example_outputs, mtt, examples_dir):
    out = example_outputs["classical"]
    assert out.top_tags(1)[0][0] not in ROCK_FAMILY
    assert "metal" not in [t for t, _ in out.top_tags(10)]
    # MagnaTagATune has a "classical" tag, and ranks it first.
    mtt_out = mtt.analyze(load_audio(examples_dir / "classical_brahms_hungarian_dance_5.ogg", 16000), 16000)
    assert mtt_out.top_tags(1)[0][0] == "classical"


def test_outputs_have_one_row_per_patch(example_outputs):
    out = example_outputs["jazz"]
    n = len(out.starts)
    assert out.taggram.shape == (n, 50) and out.penultimate.shape == (n, 200)
    assert np.all((out.taggram >= 0) & (out.taggram <= 1))
    np.testing.assert_allclose(np.diff(out.starts), 187 * 256 / 16000)
    assert out.patch_seconds == pytest.approx(2.992)


def test_batched_and_single_runs_agree(msd):
    rng = np.random.default_rng(3)
    signals = [rng.uniform(-0.3, 0.3, n).astype(np.float32) for n in (16000 * 7, 16000 * 4)]
    together = msd.analyze_many(signals, 16000)
    for y, out in zip(signals, together):
        alone = msd.analyze(y, 16000)
        np.testing.assert_allclose(alone.taggram, out.taggram, atol=1e-5)
        np.testing.assert_allclose(alone.penultimate, out.penultimate, atol=1e-4)
    # More patches than one onnxruntime call takes are split and joined again.
    assert msd.run(np.zeros((0, 187, 96), np.float32))["taggram"].shape == (0, 50)
    patches = np.random.default_rng(0).uniform(0, 3, (5, 187, 96)).astype(np.float32)
    chunked = msd.run(patches, ("penultimate",), max_batch=2)["penultimate"]
    np.testing.assert_allclose(chunked, msd.run(patches, ("penultimate",))["penultimate"], atol=1e-5)


def test_other_sample_rates_are_resampled_to_16k(msd):
    from genrekit.audio import resample

    y = np.random.default_rng(0).uniform(-0.3, 0.3, 22050 * 4).astype(np.float32)
    direct = msd.analyze(y, 22050)
    by_hand = msd.analyze(resample(y, 22050, 16000), 16000)
    np.testing.assert_array_equal(direct.taggram, by_hand.taggram)


def test_short_signals_get_one_padded_patch(msd):
    out = msd.analyze(np.random.default_rng(0).uniform(-0.3, 0.3, 8000).astype(np.float32), 16000)
    assert out.padded and len(out.starts) == 1
    assert not msd.analyze(np.zeros(16000 * 4, np.float32), 16000).padded


def test_overlapping_patches(msd):
    y = np.random.default_rng(0).uniform(-0.3, 0.3, 16000 * 6).astype(np.float32)
    assert len(msd.analyze(y, 16000, hop=1.0).starts) > len(msd.analyze(y, 16000).starts)


def test_embedding_pools_the_penultimate_layer(example_outputs):
    out = example_outputs["country"]
    emb = out.embedding()
    assert emb.shape == (400,)
    np.testing.assert_allclose(emb[:200], out.penultimate.mean(axis=0))
    np.testing.assert_allclose(emb[200:], out.penultimate.max(axis=0))
    assert out.embedding(("max",)).shape == (200,)
    with pytest.raises(ValueError, match="unknown pooling"):
        out.embedding(("median",))


def test_bad_input_is_rejected(msd):
    with pytest.raises(ValueError, match="empty"):
        msd.analyze(np.zeros(0, np.float32), 16000)
    with pytest.raises(ValueError, match="mono"):
        msd.analyze(np.zeros((2, 16000), np.float32), 16000)
    with pytest.raises(ValueError, match="log-mel patches"):
        msd.run(np.zeros((1, 187, 40), np.float32))
    from genrekit.musicnn.model import load

    with pytest.raises(ValueError, match="187 frames"):
        load("MTT_vgg").run(np.zeros((1, 64, 96), np.float32))  # vgg's flatten fixes the patch length


def test_module_level_helpers(musicnn_dir):
    from genrekit import musicnn

    y = np.random.default_rng(0).uniform(-0.3, 0.3, 16000 * 4).astype(np.float32)
    assert musicnn.embed(y, 16000, data_dir=musicnn_dir).shape == (400,)
    top = musicnn.tags(y, 16000, top_k=3, data_dir=musicnn_dir)
    assert len(top) == 3 and top[0][1] >= top[1][1] >= top[2][1]
    assert musicnn.load("MSD_musicnn", musicnn_dir) is musicnn.load("MSD_musicnn", musicnn_dir)


def test_the_vgg_networks_tag_the_metal_example_as_metal(msd_vgg, examples_dir):
    from genrekit.musicnn.model import load

    y = load_audio(examples_dir / "metal_muldjord_armygeddon.ogg", 16000, offset=30.0, duration=30.0)
    out = msd_vgg.analyze(y, 16000)
    assert out.top_tags(1)[0][0] == "metal"
    assert out.penultimate.shape == (len(out.starts), 256)
    mtt = load("MTT_vgg").analyze(y, 16000)
    assert {"metal", "rock", "guitar", "heavy", "loud"} & {t for t, _ in mtt.top_tags(3)}


@pytest.mark.parametrize("model, width", [("MSD_musicnn", 753), ("MSD_vgg", 128)])
def test_the_pooled_midend_is_returned_on_request(musicnn_dir, model, width):
    from genrekit.musicnn.model import load

    net = load(model, musicnn_dir)
    y = np.random.default_rng(5).uniform(-0.3, 0.3, 16000 * 7).astype(np.float32)
    out = net.analyze(y, 16000, midend=True)
    assert out.midend.shape == (2, 2 * width)
    assert np.all(out.midend[:, :width] >= out.midend[:, width:] - 1e-5)  # max over positions >= mean over them
    assert net.analyze(y, 16000).midend is None
    np.testing.assert_allclose(net.analyze(y, 16000, midend=True).taggram, net.analyze(y, 16000).taggram, atol=1e-6)
