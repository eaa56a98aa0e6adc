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
    assert set(data) == {"path", "genre", "confidence", "probabilities", "segments"}
    assert set(data["segments"][0]) == {"start", "end", "genre", "confidence"}
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
