"""Whole-track prediction (genrekit.predict)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from genrekit.errors import AudioError, ModelFileError
from genrekit.predict import GenreClassifier, Prediction, load_model
from synth import sine, white_noise


def test_predicts_the_obvious_genre_with_a_timeline(tiny_model: Path, write_audio):
    model = load_model(tiny_model)
    tone = model.predict(write_audio("t.wav", sine(330.0, seconds=3.0)))
    noise = model.predict(write_audio("n.wav", white_noise(seconds=3.0, seed=99)))

    assert tone.genre == "tones" and noise.genre == "noise"
    assert tone.confidence > 0.5
    assert sum(tone.probabilities.values()) == pytest.approx(1.0, abs=1e-3)
    # 3 s at 1 s windows every 0.5 s: windows start at 0, 0.5, ..., 2.0
    assert [s.start for s in tone.segments] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert all(s.end - s.start == pytest.approx(1.0) for s in tone.segments)
    assert {s.genre for s in tone.segments} == {"tones"}


def test_timeline_follows_a_change_of_genre(tiny_model: Path):
    model = load_model(tiny_model)
    y = np.concatenate([sine(440.0, seconds=3.0), white_noise(seconds=3.0, seed=5)])
    result = model.predict_signal(y, 22050)
    first, last = result.segments[0], result.segments[-1]
    assert (first.genre, last.genre) == ("tones", "noise")


def test_json_shape_matches_the_documented_contract(tiny_model: Path, write_audio):
    result = load_model(tiny_model).predict(write_audio("t.wav", sine(330.0, seconds=2.0)))
    data = json.loads(json.dumps(result.to_dict()))
    assert set(data) == {"path", "genre", "confidence", "probabilities", "segments", "coverage"}
    assert set(data["segments"][0]) == {"start", "end", "genre", "confidence"}
    assert data["coverage"] == {"mode": "fast", "windows": 3, "of": 3, "starts": [0.0, 0.5, 1.0]}
    assert list(result.to_dict(top_k=1)["probabilities"]) == [result.genre]


def test_predict_many_reports_bad_files_and_goes_on(tiny_model: Path, write_audio, tmp_path: Path):
    good = write_audio("good.wav", sine(330.0, seconds=2.0))
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF0000WAVEjunk")
    short = write_audio("short.wav", sine(330.0, seconds=0.2))
    results = list(load_model(tiny_model).predict_many([bad, good, short]))
    assert isinstance(results[0], AudioError) and "bad.wav" in str(results[0])
    assert isinstance(results[1], Prediction) and results[1].genre == "tones"
    assert isinstance(results[2], AudioError) and "shorter than one analysis window" in str(results[2])


def test_missing_bundled_model_says_how_to_build_it(monkeypatch, tmp_path: Path):
    monkeypatch.setattr("genrekit.predict.BUNDLED_MODEL", tmp_path / "none.genre")
    with pytest.raises(ModelFileError, match="make model"):
        load_model()


def test_model_of_another_feature_version_is_refused(tiny_model: Path, tmp_path: Path):
    from genrekit.models import bundle

    from dataclasses import replace

    from genrekit.predict import classifier_for

    original = bundle.load_model(tiny_model)
    card = replace(original.card, feature_set=replace(original.card.feature_set, version="0-old"), card_sha256=None)
    other = tmp_path / "old.genre"
    bundle.save_model(other, original.member_bytes(bundle.MODEL_MEMBER), card)
    with pytest.raises(ModelFileError, match="version"):
        classifier_for(bundle.load_model(other))


def _window_probs(model, path):
    from genrekit.audio import stream_audio, stream_windows

    blocks = stream_audio(path, model.sample_rate)
    return model.classify_windows(stream_windows(blocks, model.sample_rate, model.windowing, path), path)


def test_spread_is_even_deterministic_and_keeps_both_ends():
    from genrekit.predict import spread

    assert spread(19, 5) == [0, 5, 9, 14, 18]
    assert spread(60, 12)[0] == 0 and spread(60, 12)[-1] == 59 and len(set(spread(60, 12))) == 12
    assert spread(4, 10) == [0, 1, 2, 3] and spread(7, 1) == [3] and spread(0, 3) == []
    gaps = np.diff(spread(1000, 16))
    assert gaps.max() - gaps.min() <= 1


def test_fast_analyses_at_most_max_windows_evenly_spread_including_first_and_last(tiny_model: Path, write_audio):
    from genrekit.evaluation import aggregate_windows
    from genrekit.predict import spread

    model = load_model(tiny_model)
    y = np.concatenate([sine(440.0, seconds=5.0), white_noise(seconds=5.0, seed=3)])
    path = write_audio("mix.flac", y)
    starts, probs = _window_probs(model, path)
    assert len(starts) == 19  # 10 s, 1 s windows every 0.5 s
    fast = model.predict(path, coverage="fast", max_windows=5)
    chosen = spread(19, 5)
    assert fast.coverage == {"mode": "fast", "windows": 5, "of": 19, "starts": [float(starts[i]) for i in chosen]}
    assert fast.coverage["starts"][0] == 0.0 and fast.coverage["starts"][-1] == 9.0
    assert [s.start for s in fast.segments] == fast.coverage["starts"]
    _, track = aggregate_windows(probs[chosen], np.zeros(5, dtype=int), method=model.aggregation)
    got = [fast.probabilities[label] for label in model.labels]
    np.testing.assert_allclose(got, track[0], atol=1e-3)  # the spans' samples match the full decode's


def test_full_coverage_is_todays_streaming_result(tiny_model: Path, write_audio):
    model = load_model(tiny_model)
    path = write_audio("mix.wav", np.concatenate([sine(330.0, seconds=4.0), white_noise(seconds=4.0, seed=4)]))
    starts, probs = _window_probs(model, path)
    today = model.verdict(starts, probs, 8.0, path)
    full = model.predict(path, coverage="full")
    assert full == today
    assert full.coverage == {"mode": "full", "windows": 15, "of": 15, "starts": [float(s) for s in starts]}


def test_fast_on_a_file_with_few_windows_equals_full(tiny_model: Path, write_audio):
    model = load_model(tiny_model)
    path = write_audio("short.mp3", sine(330.0, seconds=3.0), format="MP3")
    fast, full = model.predict(path), model.predict(path, coverage="full")
    assert len(full.segments) == 5 and fast.coverage["windows"] == fast.coverage["of"] == 5
    assert (fast.genre, fast.probabilities, fast.segments) == (full.genre, full.probabilities, full.segments)
    assert fast.coverage["mode"] == "fast" and fast.coverage["starts"] == full.coverage["starts"]


def test_fast_on_a_file_shorter_than_its_header_fails_as_full_does(tiny_model: Path, write_audio):
    import struct

    path = write_audio("lies.mp3", sine(330.0, seconds=12.0), format="MP3")
    data = bytearray(path.read_bytes())
    xing = data.find(b"Xing") if b"Xing" in data else data.find(b"Info")
    frames = struct.unpack(">I", data[xing + 8:xing + 12])[0]
    data[xing + 8:xing + 12] = struct.pack(">I", frames * 2)
    path.write_bytes(bytes(data))
    model = load_model(tiny_model)
    for coverage in ("fast", "full"):
        with pytest.raises(AudioError, match="lies.mp3.*truncated"):
            model.predict(path, coverage=coverage, max_windows=3)


def test_coverage_options_are_checked_and_passed_through(tiny_model: Path, write_audio):
    from genrekit.errors import ConfigError

    model = load_model(tiny_model)
    path = write_audio("t.wav", sine(330.0, seconds=6.0))
    for bad in ({"coverage": "some"}, {"max_windows": 0}, {"max_windows": True}, {"max_windows": 2.5}):
        with pytest.raises(ConfigError):
            model.predict(path, **bad)
    (one,) = model.predict_many([path], max_windows=3)
    assert one.coverage["windows"] == 3 and one.coverage["of"] == 11
    (whole,) = model.predict_many([path], coverage="full")
    assert whole.coverage["windows"] == 11
    signal = model.predict_signal(sine(330.0, seconds=6.0), 22050)
    assert signal.coverage["mode"] == "full" and signal.coverage["windows"] == 11
    assert model.predict_signal(sine(330.0, seconds=6.0), 22050, coverage="fast", max_windows=4).coverage["windows"] == 4


@pytest.fixture
def bundled_pair(monkeypatch, tmp_path: Path, tiny_model: Path) -> Path:
    from bundled import make_bundled_pair

    return make_bundled_pair(tmp_path / "bundled", tiny_model, monkeypatch)


def test_bundled_models_are_selected_by_name(bundled_pair: Path, tmp_path: Path, monkeypatch):
    from genrekit.predict import resolve_model

    assert resolve_model("accurate") == bundled_pair / "accurate.genre"
    assert resolve_model("default") == resolve_model(None) == bundled_pair / "default.genre"
    assert load_model("accurate").card.calibration.temperature == 3.0
    assert load_model("default").card.calibration is None
    monkeypatch.chdir(tmp_path)
    (tmp_path / "accurate").write_bytes(b"not a model")  # a real file of that name is a path, never second-guessed
    assert resolve_model("accurate") == Path("accurate")
    with pytest.raises(ModelFileError, match="accurate"):
        load_model("accurate")


def test_predict_command_takes_a_bundled_model_name(bundled_pair: Path, write_audio):
    import json

    from typer.testing import CliRunner

    from genrekit.cli import app
    from synth import sine

    clip = write_audio("tone.wav", sine(330.0, seconds=2.0))
    results = {}
    for name in ("default", "accurate"):
        result = CliRunner().invoke(app, ["predict", str(clip), "--model", name, "--json"])
        assert result.exit_code == 0, result.output
        results[name] = json.loads(result.stdout)
    assert results["default"]["genre"] == results["accurate"]["genre"] == "tones"
    assert results["accurate"]["confidence"] < results["default"]["confidence"]  # the tempered one is the accurate file


def test_a_classifiers_threads_reach_the_network_inside_its_feature_set(monkeypatch):
    """The bundled probe runs musicnn inside its feature set: that network follows the model's thread count."""
    from genrekit import store
    from genrekit.store import _init_worker, _Job

    monkeypatch.setattr(store, "_WORKER_JOB", None)  # restored after the test: _init_worker sets it

    classifier = load_model()  # the bundled model: a probe on musicnn embeddings
    assert classifier.bundle.intra_op_threads == 1 and classifier.feature_set.threads == 1
    classifier.set_threads(2)
    assert classifier.bundle.intra_op_threads == 2 and classifier.feature_set.threads == 2
    classifier.set_threads(0)  # onnxruntime's default, for the network too
    assert classifier.feature_set.threads is None

    from genrekit.audio import Windowing
    from genrekit.features import get_feature_set

    job = _Job(get_feature_set("musicnn_penultimate"), Windowing(3.0), None)
    assert job.feature_set.threads is None  # in one process: every core
    _init_worker(job)  # a feature-table worker among several: one core each
    assert job.feature_set.threads == 1
