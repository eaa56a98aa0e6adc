"""genrekit.doctor: every check passes on a healthy install, and each one fails when its subject is broken."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from genrekit import doctor
from genrekit.doctor import Check

DOCTOR_IN_A_FRESH_PROCESS = (
    "import json, sys\n"
    "from genrekit.doctor import run_checks\n"
    "checks = [c.to_dict() for c in run_checks()]\n"
    "imported = [m for m in ('librosa', 'numba', 'torch') if m in sys.modules]\n"
    "print(json.dumps({'checks': checks, 'imported': imported}))\n"
)


@pytest.fixture(scope="module")
def fresh_run() -> dict:
    """``run_checks()`` in a new interpreter: its checks, and which heavy modules it imported."""
    out = subprocess.run([sys.executable, "-c", DOCTOR_IN_A_FRESH_PROCESS], capture_output=True, text=True,
                         timeout=300, check=True)
    return json.loads(out.stdout)


def by_name(checks: list[dict]) -> dict[str, dict]:
    return {c["name"]: c for c in checks}


# ----------------------------------------------------------------------------- a healthy install


def test_healthy_install_has_no_failed_check(fresh_run: dict) -> None:
    checks = fresh_run["checks"]
    assert [c for c in checks if c["status"] == "fail"] == []
    assert {c["status"] for c in checks} <= set(doctor.STATUSES)
    json.dumps(checks)  # every data dict is JSON


def test_every_check_is_there_and_ok(fresh_run: dict) -> None:
    checks = by_name(fresh_run["checks"])
    assert fresh_run["checks"][0]["name"] == "python"
    for name in ("libsndfile", "onnxruntime", "bundled model", "reference features", "cache folder"):
        assert checks[name]["status"] == "ok", checks[name]
    for ext, *_ in doctor.DECODER_FORMATS:
        assert checks[f"decode {ext}"]["status"] == "ok", checks[f"decode {ext}"]
        assert abs(checks[f"decode {ext}"]["data"]["peak_hz"] - 440) <= doctor.TONE_TOLERANCE_HZ
    assert checks["decode m4a"]["status"] == "ok", checks["decode m4a"]
    for module, *_ in doctor.EXTRAS:
        assert checks[f"extra {module}"]["status"] in ("ok", "info")
    model = checks["bundled model"]["data"]
    assert model["labels"] > 1 and len(model["sha256"]) == 64 and model["kind"]
    # musicnn weights may be absent (a warning), unless the bundled model reads musicnn features
    for name in ("musicnn MSD_musicnn", "musicnn MTT_musicnn"):
        assert checks[name]["status"] in ("ok", "warn")


def test_doctor_never_imports_librosa(fresh_run: dict) -> None:
    """librosa's numba start-up alone costs many seconds; doctor must stay fast."""
    assert "librosa" not in fresh_run["imported"]
    assert "numba" not in fresh_run["imported"]
    assert "torch" not in fresh_run["imported"]  # extras are looked up, never imported


# ----------------------------------------------------------------------------- run_checks never raises


def test_a_check_that_crashes_becomes_a_fail_row(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom() -> Check:
        raise RuntimeError("the check itself broke")

    fast = lambda *a, **k: Check("stub", "ok", "", {})  # noqa: E731
    for name in ("check_decoders", "check_bundled_model", "check_reference_features", "check_musicnn"):
        monkeypatch.setattr(doctor, name, fast)
    monkeypatch.setattr(doctor, "check_onnxruntime", boom)
    checks = doctor.run_checks()
    row = next(c for c in checks if c.name == "onnxruntime")
    assert row.status == "fail"
    assert row.detail == "RuntimeError: the check itself broke"
    assert doctor.failed(checks) == [row]


def test_a_crashing_bundled_model_check_still_lets_the_musicnn_check_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*a, **k) -> Check:
        raise ImportError("no module")

    seen = {}

    def musicnn(*, required: bool) -> list[Check]:
        seen["required"] = required
        return [Check("musicnn stub", "ok", "", {})]

    fast = lambda *a, **k: Check("stub", "ok", "", {})  # noqa: E731
    for name in ("check_decoders", "check_reference_features", "check_onnxruntime"):
        monkeypatch.setattr(doctor, name, fast)
    monkeypatch.setattr(doctor, "check_bundled_model", boom)
    monkeypatch.setattr(doctor, "check_musicnn", musicnn)
    checks = doctor.run_checks()
    assert next(c for c in checks if c.name == "bundled model").status == "fail"
    assert seen == {"required": False}


# ----------------------------------------------------------------------------- decoders


def test_a_format_that_does_not_decode_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    import genrekit.audio
    from genrekit.errors import CorruptAudioError

    def broken(path, sr=22050, **kwargs):
        raise CorruptAudioError(path, "decoder exploded")

    monkeypatch.setattr(genrekit.audio, "load_audio", broken)
    (check,) = doctor.check_decoders((("wav", "WAV", "PCM_16", 44100),))
    assert check.name == "decode wav" and check.status == "fail"
    assert "decoder exploded" in check.detail


def test_a_decoder_that_returns_the_wrong_sound_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    import genrekit.audio

    monkeypatch.setattr(genrekit.audio, "load_audio", lambda path, sr=22050, **kw: doctor.tone(sr, hz=1000.0))
    (check,) = doctor.check_decoders((("flac", "FLAC", "PCM_16", 44100),))
    assert check.status == "fail" and "1000" in check.detail


def test_a_format_libsndfile_lacks_is_a_warning() -> None:
    (check,) = doctor.check_decoders((("xyz", "NO_SUCH_FORMAT", "PCM_16", 44100),))
    assert check.status == "warn" and "NO_SUCH_FORMAT" in check.detail


def test_dominant_frequency() -> None:
    assert doctor.dominant_frequency(doctor.tone(22050, 0.5, 440.0), 22050) == pytest.approx(440, abs=2.5)


def test_m4a_decodes_through_pyav() -> None:
    check = doctor.check_m4a()
    assert check.status == "ok" and "PyAV" in check.detail
    assert abs(check.data["peak_hz"] - 440) <= doctor.TONE_TOLERANCE_HZ


# ----------------------------------------------------------------------------- bundled model and musicnn


def test_a_tampered_model_file_fails(tmp_path: Path) -> None:
    from genrekit.predict import BUNDLED_MODEL

    tampered = tmp_path / "tampered.genre"
    with zipfile.ZipFile(BUNDLED_MODEL) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, data + b"\0" if info.filename.endswith(".onnx") else data)
    check = doctor.check_bundled_model(tampered)
    assert check.status == "fail" and "sha256" in check.detail.lower()
    assert doctor.check_bundled_model(tmp_path / "missing.genre").status == "fail"


def test_absent_musicnn_weights_are_a_warning_unless_needed(tmp_path: Path) -> None:
    checks = doctor.check_musicnn(data_dir=tmp_path)
    assert [c.status for c in checks] == ["warn"] * 4  # MSD_musicnn, MTT_musicnn, MSD_vgg, MTT_vgg
    assert "genrekit models install musicnn" in checks[0].detail
    assert [c.status for c in doctor.check_musicnn(required=True, data_dir=tmp_path)] == ["fail"] * 4


def test_musicnn_weights_that_differ_from_their_manifest_fail(tmp_path: Path) -> None:
    (tmp_path / "MSD_musicnn.onnx").write_bytes(b"not the weights")
    (tmp_path / "mel_basis.npy").write_bytes(b"")
    manifest = {"models": {"MSD_musicnn": {"file": "MSD_musicnn.onnx", "sha256": "0" * 64}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    msd, mtt, *_vgg = doctor.check_musicnn(data_dir=tmp_path)
    assert msd.status == "fail" and "manifest" in msd.detail
    assert mtt.status == "warn"


def test_unreadable_musicnn_weights_fail_even_with_a_matching_hash(tmp_path: Path) -> None:
    import hashlib

    junk = b"not an onnx file"
    (tmp_path / "MTT_musicnn.onnx").write_bytes(junk)
    (tmp_path / "mel_basis.npy").write_bytes(b"")
    manifest = {"models": {"MTT_musicnn": {"sha256": hashlib.sha256(junk).hexdigest()}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    _, mtt, *_vgg = doctor.check_musicnn(data_dir=tmp_path)
    assert mtt.status == "fail"


# ----------------------------------------------------------------------------- reference features


def test_reference_signal_is_deterministic() -> None:
    y, sr = doctor.reference_signal()
    again, _ = doctor.reference_signal()
    assert sr == 22050 and y.dtype == np.float32 and y.shape == (5 * 22050,)
    assert np.array_equal(y, again)
    assert 0.05 < float(np.sqrt(np.mean(y.astype(np.float64) ** 2))) < 0.5


def test_stored_reference_features_match_their_set() -> None:
    from genrekit.features import get_feature_set

    stored = doctor.load_reference()
    fs = get_feature_set("seed")
    assert stored["columns"] == fs.column_names
    assert stored["feature_set"] == fs.config()
    assert np.asarray(stored["values"]).shape == (doctor.REFERENCE_WINDOWS, len(fs.column_names))


@pytest.fixture
def altered_reference(tmp_path: Path) -> Path:
    stored = doctor.load_reference()
    column = stored["columns"].index("mfcc3_var")
    stored["values"][1][column] *= 1.001  # beyond rtol 1e-4
    path = tmp_path / "seed_features.json"
    path.write_text(json.dumps(stored))
    return path


def test_altered_reference_values_fail_naming_the_worst_column(altered_reference: Path) -> None:
    check = doctor.check_reference_features(altered_reference)
    assert check.status == "fail"
    assert check.detail.startswith("mfcc3_var of window 1 is ")
    assert check.data["worst_column"] == "mfcc3_var"


def test_reference_values_within_tolerance_pass(tmp_path: Path) -> None:
    stored = doctor.load_reference()
    stored["values"] = [[v * (1 + 2e-5) for v in row] for row in stored["values"]]
    path = tmp_path / "seed_features.json"
    path.write_text(json.dumps(stored))
    assert doctor.check_reference_features(path).status == "ok"


def test_reference_with_other_columns_or_unreadable_fails(tmp_path: Path) -> None:
    stored = doctor.load_reference()
    stored["columns"] = stored["columns"][:-1]
    other = tmp_path / "other.json"
    other.write_text(json.dumps(stored))
    assert doctor.check_reference_features(other).status == "fail"
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert doctor.check_reference_features(broken).status == "fail"
    assert doctor.check_reference_features(tmp_path / "absent.json").status == "fail"


# ----------------------------------------------------------------------------- cache folder and extras


def test_cache_dir_is_created_and_left_clean(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "cache"
    check = doctor.check_cache_dir(folder)
    assert check.status == "ok" and folder.is_dir()
    assert list(folder.iterdir()) == []


def test_cache_dir_under_a_regular_file_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    check = doctor.check_cache_dir(blocker / "cache")
    assert check.status == "fail"
    assert str(blocker / "cache") in check.detail
    assert "Error" in check.detail  # the OS error's type (FileExistsError / NotADirectoryError)


def test_cache_dir_defaults_to_genrekit_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENREKIT_CACHE", str(tmp_path / "env-cache"))
    assert doctor.check_cache_dir().data["path"] == str(tmp_path / "env-cache")


def test_extras_are_looked_up_never_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "genrekit_doctor_bomb.py").write_text("raise RuntimeError('imported!')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(doctor, "EXTRAS", (
        ("genrekit_doctor_bomb", "testing", "bomb", "bomb"),
        ("genrekit_doctor_absent", "nothing", "train", "absent-package"),
    ))
    present, absent = doctor.check_extras()
    assert present.status == "ok" and present.data["installed"] is True
    assert "genrekit_doctor_bomb" not in sys.modules
    assert absent.status == "info" and absent.data["installed"] is False
    assert "not installed" in absent.detail and "genrekit[train]" in absent.detail
