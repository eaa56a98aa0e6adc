"""``classify_files``: many files in this process or on workers, with the same results in the same order."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from genrekit.batch import WorkerDiedError, _portable, classify_files
from genrekit.errors import (
    AudioNotFoundError,
    ConfigError,
    CorruptAudioError,
    GenrekitError,
    InputFailedError,
    ModelFileError,
    as_input_error,
)
from genrekit.predict import GenreClassifier, Prediction, Segment, load_model
from synth import sine, white_noise


class Crashy(GenreClassifier):
    """Kills its process on a file named ``crash.wav``, as a segfaulting decoder would (picklable by name)."""

    def predict(self, path, **options):
        if Path(path).name == "crash.wav":
            os._exit(3)
        return super().predict(path, **options)


def outcome(result):
    """A result as something comparable: a Prediction as itself, an error as its type and message."""
    return result if isinstance(result, Prediction) else (type(result).__name__, str(result))


@pytest.fixture
def mixed_files(write_audio, tmp_path: Path) -> list[Path]:
    files = [write_audio("a.wav", sine(330.0, seconds=2.0)), write_audio("b.flac", white_noise(seconds=2.0, seed=1))]
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"\xff\xfb" + b"\x00" * 100)
    files += [broken, tmp_path / "missing.wav", write_audio("short.wav", sine(440.0, seconds=0.1))]
    files += [write_audio(f"c{i}.wav", sine(220.0 * (i + 1), seconds=1.5)) for i in range(3)]
    files.append(write_audio("d.wav", white_noise(seconds=3.0, seed=7)))
    return files


def test_jobs_2_gives_exactly_the_results_of_jobs_1_in_input_order(tiny_model: Path, mixed_files: list[Path]):
    serial = list(classify_files(mixed_files, tiny_model))
    parallel = list(classify_files(mixed_files, tiny_model, jobs=2))

    assert [p for p, _ in serial] == [p for p, _ in parallel] == mixed_files
    assert [outcome(r) for _, r in parallel] == [outcome(r) for _, r in serial]
    kinds = [type(r).__name__ for _, r in parallel]
    assert kinds.count("Prediction") == 6 and "AudioNotFoundError" in kinds
    assert sum(isinstance(r, GenrekitError) for _, r in parallel) == 3


def test_a_file_that_kills_its_worker_is_reported_and_the_rest_complete(tiny_model: Path, write_audio):
    base = load_model(tiny_model)
    crashy = Crashy(base.bundle, base.feature_set)
    files = [write_audio(f"g{i}.wav", sine(220.0 * (i + 1), seconds=1.5)) for i in range(4)]
    files.insert(3, write_audio("crash.wav", sine(500.0, seconds=1.5)))
    files.append(write_audio("after.wav", white_noise(seconds=1.5, seed=2)))

    results = list(classify_files(files, crashy, jobs=2))

    assert [p for p, _ in results] == files
    died = [(p.name, r) for p, r in results if isinstance(r, GenrekitError)]
    assert [name for name, _ in died] == ["crash.wav"]
    assert isinstance(died[0][1], WorkerDiedError) and "worker process died" in str(died[0][1])
    good = [p for p in files if p.name != "crash.wav"]
    assert [outcome(r) for p, r in results if p.name != "crash.wav"] == [outcome(r) for _, r in classify_files(good, base)]


def test_predictions_and_errors_survive_pickling():
    prediction = Prediction("a.wav", "rock", 0.9, {"rock": 0.9, "jazz": 0.1}, [Segment(0.0, 3.0, "rock", 0.9)])
    assert pickle.loads(pickle.dumps(prediction)) == prediction
    for error in (CorruptAudioError("x.wav", "bad frame"), AudioNotFoundError("y.wav"), WorkerDiedError("z.wav", "why"),
                  as_input_error("w.wav", ValueError("boom")), ModelFileError("m.genre: corrupt")):
        copy = pickle.loads(pickle.dumps(error))
        assert (type(copy), str(copy), copy.__dict__.keys()) == (type(error), str(error), error.__dict__.keys())
    copy = pickle.loads(pickle.dumps(as_input_error("w.wav", ValueError("boom"))))
    assert (copy.path, copy.detail, repr(copy.cause)) == ("w.wav", "ValueError: boom", "ValueError('boom')")


class Unpicklable(Exception):
    def __init__(self, a, b):
        super().__init__(f"{a} {b}")


def test_an_error_that_would_not_reach_the_parent_is_simplified_in_the_worker():
    error = as_input_error("v.wav", Unpicklable(1, 2))
    portable = _portable(error)
    assert isinstance(portable, InputFailedError) and portable.cause is None and str(portable) == str(error)
    assert pickle.loads(pickle.dumps(portable)).path == "v.wav"


def test_a_bad_model_or_jobs_fails_at_the_call_and_one_file_runs_here(tmp_path: Path, tiny_model: Path, write_audio,
                                                                      monkeypatch: pytest.MonkeyPatch):
    bad = tmp_path / "bad.genre"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelFileError):
        classify_files([tmp_path / "x.wav"], bad, jobs=2)
    with pytest.raises(ConfigError, match="jobs"):
        classify_files([], tiny_model, jobs=0)
    monkeypatch.setattr("genrekit.batch.map_in_workers", None)  # a single file never starts a pool
    [(path, result)] = classify_files([write_audio("one.wav", sine(330.0))], tiny_model, jobs=4, threads=2)
    assert isinstance(result, Prediction) and path.name == "one.wav"
