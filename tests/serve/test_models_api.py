"""The model shelf over HTTP: summaries and cards, uploads (token, size, hostile files), benchmark scores."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from genrekit.errors import ConfigError, ModelFileError
from genrekit.serve.app import create_app
from hostile import MODEL_KINDS, reseal

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SUMMARY_KEYS = {"id", "name", "labels", "feature_set", "kind", "source", "size_bytes", "default", "claimed",
                "benchmark"}


def model_id(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def upload(client, path: Path, headers=AUTH, name: str | None = None):
    return client.post("/v1/models", files={"file": (name or path.name, path.read_bytes())}, headers=headers)


@pytest.fixture(scope="module")
def other_model(tiny_model: Path, tmp_path_factory) -> Path:
    """A valid model that is not ``tiny_model`` byte for byte (its card notes something else)."""
    out = tmp_path_factory.mktemp("other") / "other.genre"
    return reseal(tiny_model, out, card_edit=lambda card: card.update(note="a second model"))


@pytest.fixture
def uploads_client(serve_client, tiny_model, tmp_path):
    return serve_client(models=[tiny_model], models_dir=tmp_path / "shelf", allow_model_upload=True, token=TOKEN)


def test_the_summary_shows_what_the_card_claims(client, tiny_model) -> None:
    (summary,) = client.get("/v1/models").json()["models"]
    assert set(summary) == SUMMARY_KEYS
    assert summary | {"claimed": None, "benchmark": None} == {
        "id": model_id(tiny_model), "name": "tiny.genre", "labels": ["noise", "tones"], "feature_set": "seed",
        "kind": "logreg", "source": "file", "size_bytes": tiny_model.stat().st_size, "default": True,
        "claimed": None, "benchmark": None}
    assert summary["claimed"]["split"] == "valid" and 0 <= summary["claimed"]["balanced_accuracy"] <= 1
    assert summary["benchmark"]["status"] == "off"


def test_the_detail_holds_the_card_and_its_confusion_matrix(client, tiny_model) -> None:
    from genrekit.models.bundle import read_card

    body = client.get(f"/v1/models/{model_id(tiny_model)}").json()
    card = read_card(tiny_model)
    assert body["card"] == card.to_json()
    assert body["confusion"]["labels"] == list(card.labels)
    assert body["confusion"]["matrix"] == card.validation.confusion["counts"]
    assert sum(map(sum, body["confusion"]["matrix"])) == card.validation.metrics["n_tracks"]


def test_a_model_trained_on_everything_claims_nothing(serve_client, tmp_path) -> None:
    from trained import train_tiny_model

    path = train_tiny_model(tmp_path, tmp_path / "all.genre", use_all=True)
    body = serve_client(models=[path]).get(f"/v1/models/{model_id(path)}").json()
    assert body["claimed"] is None and body["confusion"] is None


def test_the_bundled_model_is_default_unless_models_are_given(serve_client) -> None:
    (summary,) = serve_client().get("/v1/models").json()["models"]
    assert summary["id"] == "default" and summary["default"] is True and summary["source"] == "bundled"


def test_models_dir_files_join_the_shelf(serve_client, tiny_model, other_model, tmp_path) -> None:
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    (shelf / "other.genre").write_bytes(other_model.read_bytes())
    models = serve_client(models=[tiny_model], models_dir=shelf).get("/v1/models").json()["models"]
    assert [(m["id"], m["default"]) for m in models] == [(model_id(tiny_model), True), (model_id(other_model), False)]


def test_a_bad_start_up_model_or_setting_fails_at_once(tmp_path, tiny_model) -> None:
    (tmp_path / "bad.genre").write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="bad.genre"):
        create_app(models=[tmp_path / "bad.genre"])
    with pytest.raises(ModelFileError, match="bad.genre"):
        create_app(models=[tiny_model], models_dir=tmp_path)
    with pytest.raises(ConfigError, match="token"):
        create_app(models=[tiny_model], allow_model_upload=True)
    with pytest.raises(ConfigError, match="workers"):
        create_app(models=[tiny_model], workers=0)


def test_uploads_are_refused_when_off_or_without_the_token(client, uploads_client, other_model, expect_error) -> None:
    expect_error(upload(client, other_model), 403, "uploads_disabled")
    expect_error(upload(uploads_client, other_model, headers={}), 401, "bad_token")
    expect_error(upload(uploads_client, other_model, headers={"Authorization": "Bearer wrong"}), 401, "bad_token")
    expect_error(upload(uploads_client, other_model, headers={"Authorization": TOKEN}), 401, "bad_token")
    expect_error(uploads_client.post("/v1/models", headers=AUTH), 422, "bad_request")
    assert len(uploads_client.get("/v1/models").json()["models"]) == 1


def test_an_uploaded_model_is_stored_listed_and_classifies(uploads_client, other_model, tmp_path, clip) -> None:
    response = upload(uploads_client, other_model, name="my model.genre")
    assert response.status_code == 201, response.text
    summary = response.json()
    assert summary["id"] == model_id(other_model) and summary["source"] == "upload"
    assert summary["name"] == "my model.genre" and summary["default"] is False
    assert (tmp_path / "shelf" / f"{summary['id']}.genre").read_bytes() == other_model.read_bytes()
    listed = {m["id"]: m for m in uploads_client.get("/v1/models").json()["models"]}
    assert listed[summary["id"]] == summary
    detail = uploads_client.get(f"/v1/models/{summary['id']}").json()
    assert detail["confusion"]["labels"] == ["noise", "tones"] and detail["card"]["note"] == "a second model"
    verdict = uploads_client.post("/v1/classify", files={"file": ("t.wav", clip(2.0))}, data={"model": summary["id"]})
    assert verdict.json()["model"] == summary["id"] and verdict.json()["genre"] == "tones"


def test_a_duplicate_upload_returns_the_existing_id(uploads_client, tiny_model, other_model) -> None:
    again = upload(uploads_client, tiny_model)
    assert again.status_code == 200 and again.json()["id"] == model_id(tiny_model)
    assert again.json()["source"] == "file"  # already on the shelf from --model
    first, second = upload(uploads_client, other_model), upload(uploads_client, other_model)
    assert (first.status_code, second.status_code) == (201, 200) and first.json() == second.json()
    assert len(uploads_client.get("/v1/models").json()["models"]) == 2


def test_a_tampered_model_is_refused(uploads_client, tiny_model, tmp_path, expect_error) -> None:
    data = bytearray(tiny_model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "tampered.genre").write_bytes(bytes(data))
    body = expect_error(upload(uploads_client, tmp_path / "tampered.genre"), 422, "bad_model")
    assert "tampered.genre" in body["message"]
    assert not list((tmp_path / "shelf").glob("*.genre"))


@pytest.mark.parametrize("kind", [k for k in MODEL_KINDS if k.name != "zip bomb"], ids=lambda k: k.name)
def test_hostile_models_are_refused_or_run_harmlessly(uploads_client, tiny_model, tmp_path, kind,
                                                      expect_error) -> None:
    hostile = kind.make(tiny_model, tmp_path)
    response = upload(uploads_client, hostile)
    if kind.expect == "refused":
        expect_error(response, 422, "bad_model")
        assert len(uploads_client.get("/v1/models").json()["models"]) == 1
    else:
        assert response.status_code == 201, response.text
        assert response.json()["labels"] == [label for label in response.json()["labels"] if "[red]" in label]
    assert uploads_client.get("/healthz").json()["status"] == "ok"


def test_a_model_over_the_upload_limit_is_refused(serve_client, tiny_model, tmp_path, expect_error) -> None:
    client = serve_client(models=[tiny_model], allow_model_upload=True, token=TOKEN, max_upload_mb=0.001)
    expect_error(upload(client, tiny_model), 413, "too_large")


def wait_for_benchmarks(client, deadline_s: float = 120.0) -> list[dict]:
    deadline = time.monotonic() + deadline_s
    while True:
        models = client.get("/v1/models").json()["models"]
        if all(m["benchmark"]["status"] in ("done", "failed") for m in models):
            return models
        assert time.monotonic() < deadline, models
        time.sleep(0.05)


def test_every_model_is_benchmarked_beside_its_claim(serve_client, tiny_model, other_model, tiny_collection,
                                                     tmp_path) -> None:
    client = serve_client(models=[tiny_model], benchmark=tiny_collection, allow_model_upload=True, token=TOKEN)
    assert upload(client, other_model).status_code == 201
    models = wait_for_benchmarks(client)
    assert len(models) == 2
    for model in models:
        bench = model["benchmark"]
        assert bench["status"] == "done", bench
        assert bench["split"] == "valid" and bench["n_tracks"] == 4  # the collection's held-out tracks
        assert bench["collection"] == f"{tiny_collection.parent.name}/manifest.csv"
        assert bench["accuracy"] == pytest.approx(model["claimed"]["accuracy"])  # the same tracks, the same model
        assert 0.0 <= bench["balanced_accuracy"] <= 1.0


def test_a_model_that_cannot_be_scored_says_why(serve_client, tiny_model, tmp_path) -> None:
    import csv

    from trained import make_collection

    manifest = make_collection(tmp_path / "c")
    rows = list(csv.DictReader(manifest.open()))
    for row in rows:
        row["label"] = "jazz"  # a genre the model never learned
    with manifest.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (model,) = wait_for_benchmarks(serve_client(models=[tiny_model], benchmark=manifest))
    assert model["benchmark"]["status"] == "failed" and "jazz" in model["benchmark"]["message"]
    assert str(tmp_path) not in model["benchmark"]["message"]


def test_a_model_declared_over_the_limit_is_refused_unread(serve_client, tiny_model, expect_error) -> None:
    client = serve_client(models=[tiny_model], allow_model_upload=True, token=TOKEN, max_upload_mb=0.01)
    response = client.post("/v1/models", files={"file": ("big.genre", b"\0" * 200_000)}, headers=AUTH)
    expect_error(response, 413, "too_large")
