"""The .genre model file: round trip, integrity, compatibility, no pickle."""

from __future__ import annotations

import hashlib
import json
import pickle
import zipfile
from datetime import datetime, timezone

import numpy as np
import pytest
from sklearn.datasets import make_classification

import hostile
from genrekit.errors import ModelFileError
from genrekit.models import bundle, classic
from genrekit.models.bundle import FeatureMismatchError, export_pipeline, load_model, save_model

LABELS_IN = np.array(["blues", "classical", "metal"])
N_FEATURES = 6


@pytest.fixture(scope="module")
def fitted():
    X, y = make_classification(240, N_FEATURES, n_informative=4, n_redundant=0, n_classes=3, random_state=0)
    groups = np.arange(240) // 4
    pipe = classic.fit_pipeline(classic.build_pipeline("logreg"), X, LABELS_IN[y], groups)
    return pipe, X


def make_card(pipe, **overrides):
    card = {
        "labels": classic.pipeline_labels(pipe),
        "feature_set": {"name": "seed", "version": "1", "sample_rate": 22050, "options": {}},
        "columns": [f"f{i}" for i in range(N_FEATURES)],
        "windowing": {"window": 3.0, "hop": 1.5},
        "aggregation": "mean",
        "model": classic.describe_pipeline(pipe),
        "training": {"counts": {"blues": 80, "classical": 80, "metal": 80}, "source": "synthetic"},
        "validation": {"split": "grouped 5-fold CV", "metrics": {"balanced_accuracy": 0.9}},
    }
    card.update(overrides)
    return card


@pytest.fixture()
def model_file(tmp_path, fitted):
    pipe, _ = fitted
    path = tmp_path / "m.genre"
    save_model(path, export_pipeline(pipe, N_FEATURES), make_card(pipe))
    return path


def rewrite(src, dst, *, card_edit=None, members_edit=None, reseal=True):
    """Copy a model file with edits; ``reseal`` recomputes the hashes as the documented format says."""
    if reseal:
        return hostile.reseal(src, dst, card_edit=card_edit, members_edit=members_edit)

    def edit(members):
        card = json.loads(members["card.json"])
        if card_edit:
            card_edit(card)
        members["card.json"] = json.dumps(card).encode()
        if members_edit:
            members_edit(members)

    return hostile._rezip(src, dst, edit)


# --------------------------------------------------------------- round trip


def test_round_trip_predicts_like_the_pipeline(model_file, fitted):
    pipe, X = fitted
    model = load_model(model_file)
    assert model.labels == ["blues", "classical", "metal"]
    assert model.card.feature_set.to_json() == {"name": "seed", "version": "1", "sample_rate": 22050, "options": {}}
    assert model.card.windowing.as_dict() == {"window": 3.0, "hop": 1.5}
    assert model.card.aggregation == "mean"
    assert model.columns == [f"f{i}" for i in range(N_FEATURES)] and model.n_features == N_FEATURES
    assert model._session is None  # created lazily
    p = model.predict_proba(X[:50])
    assert model._session is not None
    assert p.dtype == np.float64 and p.shape == (50, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(p, pipe.predict_proba(X[:50]), atol=1e-4)
    assert model.predict_proba(np.zeros((0, N_FEATURES))).shape == (0, 3)


def test_card_is_completed_and_sealed(model_file):
    from genrekit import __version__

    card = load_model(model_file).card.to_json()
    assert card["format"] == "genrekit-model" and card["format_version"] == bundle.FORMAT_VERSION
    assert card["genrekit_version"] == __version__
    created = datetime.fromisoformat(card["created_at"])
    assert created.utcoffset() == timezone.utc.utcoffset(None)
    assert card["onnx"] == {"member": "model.onnx", "input": "features", "output": "probabilities"}
    with zipfile.ZipFile(model_file) as zf:
        assert card["members"]["model.onnx"] == hashlib.sha256(zf.read("model.onnx")).hexdigest()
    assert card["validation"]["split"] == "grouped 5-fold CV"
    assert card["model"]["kind"] == "logreg"


def test_threads_are_configurable(model_file, fitted):
    for threads in (1, 2):
        model = load_model(model_file, intra_op_threads=threads)
        assert model.predict_proba(fitted[1][:3]).shape == (3, 3)
        assert model._get_session().get_session_options().intra_op_num_threads == threads


def test_extra_members_round_trip(tmp_path, fitted):
    pipe, _ = fitted
    onnx_bytes = export_pipeline(pipe, N_FEATURES).SerializeToString()
    path = save_model(tmp_path / "x.genre", onnx_bytes, make_card(pipe),
                      extra_members={"members/embed.onnx": onnx_bytes, "notes.json": b"{}"})
    model = load_model(path)
    assert model.member_names == ["members/embed.onnx", "model.onnx", "notes.json"]
    assert model.member_bytes("members/embed.onnx") == onnx_bytes
    for bad in ("weights.pkl", "../evil.onnx", "card.json", "/abs.json"):
        with pytest.raises(ValueError, match="member name"):
            save_model(tmp_path / "y.genre", onnx_bytes, make_card(pipe), extra_members={bad: b"{}"})


# --------------------------------------------------------------- input checks


def test_input_width_is_validated(model_file, fitted):
    model = load_model(model_file)
    with pytest.raises(FeatureMismatchError, match=r"expects features of shape \(n, 6\).*'seed' v1") as info:
        model.predict_proba(np.zeros((2, N_FEATURES + 1)))
    assert str(model_file) in str(info.value)
    with pytest.raises(FeatureMismatchError):
        model.predict_proba(np.zeros(N_FEATURES))
    bad = np.zeros((1, N_FEATURES))
    bad[0, 2] = np.nan
    with pytest.raises(FeatureMismatchError, match="NaN"):
        model.predict_proba(bad)


# ----------------------------------------------------------- save validation


def test_save_rejects_bad_cards(tmp_path, fitted):
    pipe, _ = fitted
    proto = export_pipeline(pipe, N_FEATURES)
    card = make_card(pipe)
    del card["windowing"]
    with pytest.raises(ValueError, match="windowing"):
        save_model(tmp_path / "a.genre", proto, card)
    with pytest.raises(ValueError, match="3 columns but the card lists 2 labels"):
        save_model(tmp_path / "a.genre", proto, make_card(pipe, labels=["blues", "metal"]))
    with pytest.raises(ValueError, match="order matters"):
        save_model(tmp_path / "a.genre", proto, make_card(pipe, labels=["metal", "blues", "classical"]))
    with pytest.raises(ValueError, match="6 features but the card lists 5 columns"):
        save_model(tmp_path / "a.genre", proto, make_card(pipe, columns=[f"c{i}" for i in range(5)]))
    with pytest.raises(ValueError, match="split"):
        save_model(tmp_path / "a.genre", proto, make_card(pipe, validation={"metrics": {}}))
    with pytest.raises(ValueError, match="NaN"):
        save_model(tmp_path / "a.genre", proto, make_card(pipe, validation={"split": "v", "ece": float("nan")}))
    assert not list(tmp_path.iterdir())  # nothing half-written


# ------------------------------------------------------------ corrupt files


def test_missing_and_non_files(tmp_path):
    with pytest.raises(ModelFileError, match="not found") as info:
        load_model(tmp_path / "nope.genre")
    assert "nope.genre" in str(info.value)
    with pytest.raises(ModelFileError, match="not a file"):
        load_model(tmp_path)


def test_not_a_zip_and_truncated(tmp_path, model_file):
    junk = tmp_path / "junk.genre"
    junk.write_bytes(b"definitely not a zip archive" * 10)
    with pytest.raises(ModelFileError, match="corrupt") as info:
        load_model(junk)
    assert str(junk) in str(info.value)
    data = model_file.read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 10):
        short = tmp_path / f"short{cut}.genre"
        short.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match=str(short.name)):
            load_model(short)
    empty = tmp_path / "empty.genre"
    empty.write_bytes(b"")
    with pytest.raises(ModelFileError):
        load_model(empty)


def test_zip_without_card(tmp_path):
    path = tmp_path / "other.genre"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("model.onnx", b"x")
    with pytest.raises(ModelFileError, match="no card.json"):
        load_model(path)


# ------------------------------------------------------------------ tamper


def test_tampered_onnx_member_is_refused(tmp_path, model_file):
    def flip(members):
        data = bytearray(members["model.onnx"])
        data[len(data) // 2] ^= 0xFF
        members["model.onnx"] = bytes(data)

    path = rewrite(model_file, tmp_path / "t.genre", members_edit=flip, reseal=False)
    with pytest.raises(ModelFileError, match=r"member 'model.onnx' was modified.*sha256 mismatch") as info:
        load_model(path)
    assert str(path) in str(info.value)


def test_tampered_card_is_refused(tmp_path, model_file):
    def swap(card):
        card["labels"] = ["metal", "classical", "blues"]

    path = rewrite(model_file, tmp_path / "t.genre", card_edit=swap, reseal=False)
    with pytest.raises(ModelFileError, match="card.json was modified"):
        load_model(path)


def test_unlisted_and_unexpected_members_are_refused(tmp_path, model_file):
    def add_json(members):
        members["sneaky.json"] = b"{}"

    path = rewrite(model_file, tmp_path / "a.genre", members_edit=add_json, reseal=False)
    with pytest.raises(ModelFileError, match="unlisted"):
        load_model(path)

    def add_pickle(members):
        members["model.pkl"] = pickle.dumps({"a": 1})

    path = rewrite(model_file, tmp_path / "b.genre", members_edit=add_pickle)  # even when sealed
    with pytest.raises(ModelFileError, match="unexpected member 'model.pkl'"):
        load_model(path)


# ----------------------------------------------------------- incompatible


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c.update(format_version=bundle.FORMAT_VERSION + 1), "newer genrekit"),
        (lambda c: c.update(format="some-other-format"), "not a genrekit model file"),
        (lambda c: c.pop("labels"), "'labels'.*is missing"),
        (lambda c: c.update(labels=["blues", "metal"]), "3 columns but the card lists 2 labels"),
        (lambda c: c.update(columns=["a", "b"]), "6 features but the card lists 2 columns"),
        (lambda c: c.update(aggregation="median"), "aggregation"),
        (lambda c: c["onnx"].update(output="scores"), "no output 'scores'"),
    ],
)
def test_incompatible_cards_are_refused(tmp_path, model_file, edit, message):
    path = rewrite(model_file, tmp_path / "c.genre", card_edit=edit)
    with pytest.raises(ModelFileError, match=message) as info:
        load_model(path)
    assert str(info.value).startswith(str(path))


def test_onnx_member_that_is_not_onnx_is_refused(tmp_path, model_file):
    def garbage(members):
        members["model.onnx"] = b"\xff\xfe not protobuf at all \x00\x01" * 3

    path = rewrite(model_file, tmp_path / "g.genre", members_edit=garbage)
    with pytest.raises(ModelFileError, match="not a valid ONNX model"):
        load_model(path)


# ---------------------------------------------------------------- no pickle


def test_model_file_holds_no_pickle_and_loading_never_unpickles(model_file, fitted, monkeypatch):
    with zipfile.ZipFile(model_file) as zf:
        names = zf.namelist()
        assert names and all(n.endswith((".json", ".onnx")) for n in names)
        for n in names:
            assert not zf.read(n).startswith(b"\x80"), f"{n} looks like a pickle stream"

    def refuse(*args, **kwargs):
        raise AssertionError("pickle used while loading a model")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    model = load_model(model_file)
    assert model.predict_proba(fitted[1][:4]).shape == (4, 3)
