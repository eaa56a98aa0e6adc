"""The typed model card (genrekit.models.card): one place that reads, checks and writes every card field."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from genrekit.errors import ModelFileError
from genrekit.models import bundle
from genrekit.models.card import MAX_DEPTH, ModelCard, json_depth_ok

V1 = Path(__file__).parent / "data" / "v1"
BUNDLED = Path(__file__).resolve().parents[2] / "src" / "genrekit" / "data" / "models" / "default.genre"


def probe_signal() -> np.ndarray:
    """The signal the v1 fixtures' expected outputs were recorded on (by the code that wrote the files)."""
    from synth import sine, white_noise

    return (0.3 * sine(330.0, seconds=2.5) + 0.1 * white_noise(seconds=2.5, seed=7)).astype(np.float32)


@pytest.mark.parametrize("name", ["v1-logreg-seed.genre", "v1-knn-default.genre", "v1-ensemble.genre"])
def test_files_written_before_the_typed_card_load_and_predict_identically(name: str):
    from genrekit.predict import load_model

    expected = json.loads((V1 / "expected.json").read_text())[name]
    classifier = load_model(V1 / name)
    _, window_probs = classifier.window_probabilities(probe_signal())
    np.testing.assert_allclose(window_probs, expected["window_probs"], atol=1e-6, rtol=0)
    assert classifier.predict_signal(probe_signal(), classifier.sample_rate).probabilities == expected["probabilities"]
    assert classifier.sample_rate == expected["sample_rate"]


@pytest.mark.parametrize("path", [*sorted(V1.glob("*.genre")), BUNDLED], ids=lambda p: p.name)
def test_a_card_reads_back_to_exactly_the_json_it_came_from(path: Path):
    model = bundle.load_model(path)
    raw = json.loads(model.files()["card.json"])
    assert model.card.to_json() == raw
    assert ModelCard.from_json(raw, where="again") == model.card
    for member in model.embedded_models():  # an ensemble's members too
        assert member.card.to_json() == json.loads(member.files()["card.json"])


def test_the_typed_fields_say_what_prediction_needs():
    card = bundle.read_card(V1 / "v1-logreg-seed.genre")
    assert card.kind == "logreg" and card.labels == ("noise", "tones")
    assert card.feature_set.name == "seed" and card.feature_set.sample_rate == 22050
    assert card.windowing.window == 1.0 and card.windowing.hop == 0.5 and card.aggregation == "mean"
    assert card.training.split == "train" and card.training.tracks_per_label == {"noise": 4, "tones": 4}
    assert card.validation.split == "valid" and card.validation.measured
    ensemble = bundle.read_card(V1 / "v1-ensemble.genre")
    assert [m["name"] for m in ensemble.model.members] == ["0_v1-logreg-seed", "1_v1-knn-default"]


def _reseal(path: Path, out: Path, edit) -> Path:
    """Copy a model file with its card edited and hashes recomputed (the format is documented: anyone can)."""
    import hashlib
    import zipfile

    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    card = json.loads(files.pop("card.json"))
    edit(card)
    body = {k: v for k, v in card.items() if k != "card_sha256"}
    card["card_sha256"] = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"),
                                                    ensure_ascii=False).encode()).hexdigest()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("card.json", json.dumps(card))
        for n, d in files.items():
            zf.writestr(n, d)
    return out


def _deep(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"x": value}
    return value


@pytest.mark.parametrize("edit, field", [
    (lambda c: c["windowing"].update(window=1e-5), "windowing.window"),
    (lambda c: c["windowing"].update(hop=-1.0), "windowing.hop"),
    (lambda c: c["windowing"].update(window="3"), "windowing.window"),
    (lambda c: c["feature_set"].update(sample_rate=200_000_000), "feature_set.sample_rate"),
    (lambda c: c["feature_set"].update(options=[1, 2]), "feature_set.options"),
    (lambda c: c.update(labels=["a", "a"]), "labels"),
    (lambda c: c.update(labels="blues"), "labels"),
    (lambda c: c["model"].pop("kind"), "model.kind"),
    (lambda c: c.update(training=[]), "training"),
    (lambda c: c["training"].update(n_tracks=-3), "training.n_tracks"),
    (lambda c: c["validation"].pop("split"), "validation.split"),
    (lambda c: c["model"].update(history=_deep(MAX_DEPTH + 5)), "card"),
])
def test_a_sealed_but_hostile_card_is_refused_naming_the_field(tmp_path: Path, edit, field: str):
    bad = _reseal(V1 / "v1-logreg-seed.genre", tmp_path / "bad.genre", edit)
    with pytest.raises(ModelFileError, match=f"card field '{field}'") as info:
        bundle.load_model(bad)
    assert str(info.value).startswith(str(bad)) and "\n" not in str(info.value)


def test_unknown_feature_set_options_are_a_model_file_error(tmp_path: Path):
    from genrekit.predict import load_model

    bad = _reseal(V1 / "v1-logreg-seed.genre", tmp_path / "opt.genre",
                  lambda c: c["feature_set"].update(options={"no_such_option": 1}))
    with pytest.raises(ModelFileError, match="no_such_option"):
        load_model(bad)


def test_a_card_nested_far_too_deep_is_refused_without_recursion(tmp_path: Path):
    bad = _reseal(V1 / "v1-logreg-seed.genre", tmp_path / "deep.genre", lambda c: None)
    import zipfile

    with zipfile.ZipFile(bad) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    files["card.json"] = b'{"format": "genrekit-model", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with zipfile.ZipFile(bad, "w") as zf:
        for n, d in files.items():
            zf.writestr(n, d)
    with pytest.raises(ModelFileError):
        bundle.load_model(bad)
    assert not json_depth_ok(_deep(MAX_DEPTH + 1)) and json_depth_ok(_deep(MAX_DEPTH - 1))


def test_build_makes_a_card_that_saves_and_loads(tmp_path: Path):
    from genrekit.audio import Windowing
    from genrekit.features import get_feature_set
    from genrekit.models.card import ModelInfo, TrainingSummary

    source = bundle.load_model(V1 / "v1-logreg-seed.genre")
    card = ModelCard.build(labels=source.card.labels, feature_set=get_feature_set("seed"),
                           windowing=Windowing(1.0, 0.5), aggregation="mean", model=ModelInfo("logreg", {"C": 1.0}),
                           training=TrainingSummary.of("records", [], split="train", n_windows=0), validation=None,
                           extra={"selection": {"why": "a test"}})
    assert not card.sealed and not card.validation.measured
    path = bundle.save_model(tmp_path / "m.genre", source.member_bytes("model.onnx"), card)
    loaded = bundle.read_card(path)
    assert loaded.sealed and loaded.extra == {"selection": {"why": "a test"}}
    assert replace(loaded, onnx=None, members={}, created_at=None, genrekit_version=None, card_sha256=None) == card


def _with_onnx_edit(tmp_path: Path, edit) -> Path:
    """The logreg fixture with its graph edited and the file resealed (what a stranger can do)."""
    import onnx

    source = bundle.load_model(V1 / "v1-logreg-seed.genre")
    proto = onnx.load_model_from_string(source.member_bytes("model.onnx"))
    edit(proto)
    data = proto.SerializeToString()

    def swap(card: dict) -> None:
        import hashlib

        card["members"]["model.onnx"] = hashlib.sha256(data).hexdigest()

    import zipfile

    out = _reseal(V1 / "v1-logreg-seed.genre", tmp_path / "edited.genre", swap)
    with zipfile.ZipFile(out) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    files["model.onnx"] = data
    with zipfile.ZipFile(out, "w") as zf:
        for n, d in files.items():
            zf.writestr(n, d)
    return out


def test_a_graph_reading_weights_from_a_local_file_is_refused(tmp_path: Path, monkeypatch):
    from onnx import TensorProto

    (tmp_path / "secret.bin").write_bytes(b"\x00" * 4096)
    monkeypatch.chdir(tmp_path)

    def external(proto) -> None:
        tensor = proto.graph.initializer[0]
        tensor.ClearField("raw_data")
        del tensor.float_data[:]
        del tensor.double_data[:]
        del tensor.int64_data[:]
        tensor.data_location = TensorProto.EXTERNAL
        entry = tensor.external_data.add()
        entry.key, entry.value = "location", "secret.bin"

    bad = _with_onnx_edit(tmp_path, external)
    with pytest.raises(ModelFileError, match="external data"):
        bundle.load_model(bad)


def test_a_graph_with_a_foreign_operator_domain_is_refused(tmp_path: Path):
    bad = _with_onnx_edit(tmp_path, lambda proto: proto.opset_import.add(domain="evil.custom", version=1))
    with pytest.raises(ModelFileError, match="evil.custom"):
        bundle.load_model(bad)


def test_an_old_card_without_precision_round_trips_exactly_and_reads_as_float32():
    for path in [*sorted(V1.glob("*.genre")), BUNDLED]:
        model = bundle.load_model(path)
        raw = json.loads(model.files()["card.json"])
        assert "precision" not in raw["model"]
        assert model.card.precision == "float32"
        assert model.card.to_json() == raw


def test_a_new_card_records_its_precision(tmp_path: Path):
    from genrekit.models.card import ModelInfo

    source = bundle.load_model(V1 / "v1-logreg-seed.genre")
    card = replace(source.card, model=ModelInfo(source.card.kind, source.card.model.details | {"precision": "int8"}),
                   members={}, card_sha256=None)
    path = bundle.save_model(tmp_path / "q.genre", source.member_bytes("model.onnx"), card)
    loaded = bundle.load_model(path)
    raw = json.loads(loaded.files()["card.json"])
    assert raw["model"]["precision"] == "int8" and loaded.card.precision == "int8"
    assert loaded.card.to_json() == raw


def test_a_precision_that_is_not_a_name_is_refused(tmp_path: Path):
    bad = _reseal(V1 / "v1-logreg-seed.genre", tmp_path / "p.genre", lambda c: c["model"].update(precision=8))
    with pytest.raises(ModelFileError, match="card field 'model.precision'"):
        bundle.load_model(bad)
