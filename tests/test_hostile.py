"""Every kind of hostile input (tests/hostile.py) through the released CLI and the Python API.

A folder holding every audio kind plus five good clips is classified by
``predict --json``, the table output and ``features``, each in a process of
its own, as a user would run them: exit code 1, no traceback, a result or a
named error for every file, every good clip classified. Every hostile model
file is refused with a one-line error (or, where harmless, runs) and none
can read a local file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hostile import AUDIO_KINDS, MODEL_KINDS, make_audio_folder, make_model_files, tone

BUNDLED = Path(__file__).resolve().parents[1] / "src" / "genrekit" / "data" / "models" / "default.genre"
RUN_CLI = "import sys; from genrekit.cli import main; sys.argv[0] = 'genrekit'; main()"


def genrekit(*args: object, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[bytes]:
    """The CLI in a process of its own; output kept as bytes (names need not be UTF-8)."""
    argv = [os.fsencode(str(a)) if isinstance(a, Path) else str(a) for a in args]
    return subprocess.run([sys.executable, "-c", RUN_CLI, *argv], capture_output=True, timeout=timeout, cwd=cwd)


def test_the_generator_makes_at_least_forty_kinds():
    assert len(AUDIO_KINDS) + len(MODEL_KINDS) >= 40
    assert len({k.name for k in AUDIO_KINDS}) == len(AUDIO_KINDS)
    assert {k.expect for k in AUDIO_KINDS} == {"ok", "error"}


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], dict[str, object]]:
    folder = tmp_path_factory.mktemp("hostile") / "library"
    good, made = make_audio_folder(folder)
    return folder, good, made


def _explicit(made: dict[str, object]) -> list[Path]:
    """Entries a folder walk does not return as audio files (a FIFO, a dangling link): named on the command line."""
    return [Path(p) for p in made if not Path(p).is_file()]


def _json_lines(stdout: bytes) -> list[dict]:
    return [json.loads(line) for line in stdout.decode("ascii").splitlines() if line.strip()]


@pytest.mark.slow
def test_predict_json_reports_every_file_and_classifies_the_good_ones(hostile_folder):
    folder, good, made = hostile_folder
    result = genrekit("predict", "--json", folder, *_explicit(made))
    assert result.returncode == 1, result.stderr.decode(errors="replace")
    assert b"Traceback" not in result.stderr + result.stdout
    by_path = {os.fsencode(row["path"]): row for row in _json_lines(result.stdout)}
    for path, kind in made.items():
        row = by_path.get(os.fsencode(path))
        assert row is not None, f"{kind.name}: no line for {path!r}"
        if kind.expect == "ok":
            assert "genre" in row, f"{kind.name}: {row.get('error')}"
        else:
            assert "error" in row and "genre" not in row, f"{kind.name} was classified: {row}"
            assert kind.says.lower() in row["error"].lower(), f"{kind.name}: {row['error']!r} lacks {kind.says!r}"
            assert "\n" not in row["error"]
    for clip in good:
        assert by_path[os.fsencode(str(clip))]["genre"]


@pytest.mark.slow
def test_table_output_streams_escaped_rows_and_names_every_failure(hostile_folder):
    folder, good, made = hostile_folder
    result = genrekit("predict", folder, *_explicit(made), "--top-k", "2")
    assert result.returncode == 1
    out, err = result.stdout, result.stderr
    assert b"Traceback" not in out + err
    assert b"\x1b" not in out and b"\x07" not in out, "a control character reached the terminal"
    assert b"[red]not red[blink]" in out, "markup in a name was interpreted instead of printed"
    assert b"caf\\xe9-latin1.wav" in out, "a non-UTF-8 name is shown with its byte escaped"
    for clip in good:
        assert clip.name.encode() in out
    failed = [line for line in err.splitlines() if line.startswith(b"failed:")]
    assert len(failed) == sum(kind.expect == "error" for kind in made.values())


@pytest.mark.slow
def test_features_keeps_the_good_files_and_names_every_failure(hostile_folder, tmp_path: Path):
    folder, good, made = hostile_folder
    out = tmp_path / "features.parquet"
    named = [p for p in _explicit(made) if os.path.lexists(p) and p.exists()]  # a missing SOURCE is a usage error
    made = {p: kind for p, kind in made.items() if Path(p).is_file() or Path(p) in named}
    result = genrekit("features", folder, *named, "--set", "seed", "-o", out, "--json", "--no-cache")
    assert result.returncode == 1, result.stderr.decode(errors="replace")
    assert b"Traceback" not in result.stderr + result.stdout
    summary = json.loads(result.stdout)
    failed = {os.fsencode(f["path"]) for f in summary["failures"]}
    for path, kind in made.items():
        assert (os.fsencode(path) in failed) == (kind.expect == "error"), kind.name
    assert summary["files"] == len(made) + len(good)


# ----------------------------------------------------------------------------- model files


@pytest.fixture(scope="module")
def hostile_models(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, object]:
    return make_model_files(BUNDLED, tmp_path_factory.mktemp("hostile-models"))


@pytest.mark.parametrize("kind", MODEL_KINDS, ids=[k.name for k in MODEL_KINDS])
def test_every_hostile_model_file_is_refused_in_one_line(kind, tmp_path: Path):
    from genrekit.errors import ModelFileError
    from genrekit.predict import load_model

    (tmp_path / "secret.bin").write_bytes(np.arange(4096, dtype=np.uint8).tobytes())
    path = kind.make(BUNDLED, tmp_path)
    cwd = Path.cwd()
    os.chdir(tmp_path)  # a relative external-data location would resolve here
    try:
        if kind.expect == "refused":
            with pytest.raises(ModelFileError) as info:
                load_model(path)
            assert "\n" not in str(info.value) and str(info.value)
        else:
            classifier = load_model(path)
            assert classifier.predict_signal(tone(4.0), 22050).genre in classifier.labels
    finally:
        os.chdir(cwd)


@pytest.mark.slow
def test_the_cli_refuses_a_hostile_model_without_a_traceback(tmp_path: Path):
    good = tmp_path / "good.wav"
    import soundfile as sf

    sf.write(good, tone(4.0), 22050)
    for kind in MODEL_KINDS:
        path = kind.make(BUNDLED, tmp_path)
        result = genrekit("predict", "--model", path, good)
        err = result.stderr.decode(errors="replace")
        assert b"Traceback" not in result.stderr, f"{kind.name}: {err}"
        if kind.expect == "refused":
            assert result.returncode == 2 and err.startswith("error:") and err.count("\n") == 1, f"{kind.name}: {err}"
        else:
            assert result.returncode == 0 and b"\x1b" not in result.stdout, kind.name
            assert b"[red]" in result.stdout, "a label's markup is printed as text"


# ----------------------------------------------------------------------------- the Python API


@pytest.fixture(scope="module")
def classifier():
    from genrekit.predict import load_model

    return load_model()


def test_predict_signal_resamples_from_the_rate_it_is_given(classifier):
    from genrekit.audio import resample

    y = tone(6.0, 22050)
    at_model_rate = resample(y, 22050, classifier.sample_rate)
    assert classifier.predict_signal(y, 22050).probabilities == classifier.predict_signal(
        at_model_rate, classifier.sample_rate).probabilities
    ten = classifier.predict_signal(tone(10.0, 22050), 22050)
    assert 10.0 - classifier.windowing.window < ten.segments[-1].end <= 10.0, "the timeline is in the caller's seconds"


@pytest.mark.parametrize("dtype, scale, offset", [(np.int16, 32768, 0), (np.int32, 2**31, 0), (np.int8, 128, 0),
                                                  (np.uint8, 128, 128)])
def test_integer_pcm_is_scaled_like_the_float_signal(classifier, dtype, scale, offset):
    y = tone(4.0, 22050)
    pcm = np.clip(np.round(y * (scale - 1)) + offset, np.iinfo(dtype).min, np.iinfo(dtype).max).astype(dtype)
    as_float = (pcm.astype(np.float64) - offset) / scale
    got = classifier.predict_signal(pcm, 22050).probabilities
    want = classifier.predict_signal(as_float, 22050).probabilities
    assert got == pytest.approx(want, abs=1e-3)


@pytest.mark.parametrize("y, match", [
    (np.zeros((22050 * 4, 2), np.float32), r"mono.*y\.mean\(axis=1\)"),
    (np.zeros((2, 22050 * 4), np.float32), r"mono.*y\.mean\(axis=0\)"),
    (np.zeros(22050 * 4, np.complex64), "sample type"),
    (np.zeros(22050 * 4, bool), "sample type"),
    (np.zeros(22050 * 4, np.uint16), "sample type"),
])
def test_signals_that_are_not_mono_float_or_pcm_are_refused(classifier, y, match):
    from genrekit.errors import ConfigError

    with pytest.raises(ConfigError, match=match):
        classifier.predict_signal(y, 22050)


@pytest.mark.parametrize("sr", [0, -1, 10**9, 22050.5, "22050", None])
def test_a_wrong_sample_rate_is_refused(classifier, sr):
    from genrekit.errors import ConfigError

    with pytest.raises(ConfigError, match="sample rate|sr must"):
        classifier.predict_signal(tone(4.0), sr)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_raise_non_finite_audio_error(classifier, value):
    from genrekit.errors import NonFiniteAudioError

    y = tone(4.0)
    y[1000] = value
    with pytest.raises(NonFiniteAudioError):
        classifier.predict_signal(y, 22050)


def test_empty_and_absurdly_loud_signals_are_typed_errors(classifier):
    from genrekit.errors import AudioError, EmptyAudioError, GenrekitError

    with pytest.raises(EmptyAudioError):
        classifier.predict_signal(np.zeros(0, np.float32), 22050)
    with pytest.raises(GenrekitError) as info:
        classifier.predict_signal(tone(4.0) * 1e30, 22050)
    assert "model" not in str(info.value).lower() or isinstance(info.value, AudioError)


def test_predict_many_turns_any_exception_into_a_named_error(classifier, tmp_path: Path, monkeypatch):
    import soundfile as sf

    from genrekit.errors import InputFailedError

    paths = [tmp_path / f"{i}.wav" for i in range(3)]
    for p in paths:
        sf.write(p, tone(4.0), 22050)
    real = classifier.feature_set.extract_many
    calls = {"n": 0}

    def flaky(windows, sr):
        calls["n"] += 1
        if calls["n"] == 1:
            raise MemoryError()
        return real(windows, sr)

    monkeypatch.setattr(classifier.feature_set, "extract_many", flaky)
    results = list(classifier.predict_many(paths))
    assert isinstance(results[0], InputFailedError) and "out of memory" in str(results[0])
    assert str(paths[0]) in str(results[0])
    assert [r.genre in classifier.labels for r in results[1:]] == [True, True]
