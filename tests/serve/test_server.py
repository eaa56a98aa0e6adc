"""The server's own routes and start-up: /healthz, /metrics, OpenAPI docs, and `genrekit serve`'s refusals."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from genrekit.cli import app as cli_app


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = r"^" + re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "") + r" (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_healthz_counts_the_models(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "models": 1}


def test_metrics_count_requests_errors_and_latency(client, clip) -> None:
    for _ in range(3):
        client.post("/v1/classify", files={"file": ("t.wav", clip(2.0))})
    client.post("/v1/classify", files={"file": ("t.wav", b"")})
    client.get("/v1/models/nope")
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert metric(text, "genrekit_requests_total", route="/v1/classify", code="200") == 3
    assert metric(text, "genrekit_requests_total", route="/v1/classify", code="422") == 1
    assert metric(text, "genrekit_requests_total", route="/v1/models/{model_id}", code="404") == 1
    assert metric(text, "genrekit_errors_total", code="corrupt") == 1
    assert metric(text, "genrekit_errors_total", code="not_found") == 1
    assert metric(text, "genrekit_request_duration_seconds_count", route="/v1/classify") == 4
    assert metric(text, "genrekit_request_duration_seconds_bucket", route="/v1/classify", le="+Inf") == 4
    assert metric(text, "genrekit_queue_depth") == 0 and metric(text, "genrekit_models") == 1
    assert "# TYPE genrekit_request_duration_seconds histogram" in text


def test_a_client_cannot_grow_the_metric_labels(client) -> None:
    for i in range(5):
        client.get(f"/no/such/path/{i}")
    text = client.get("/metrics").text
    assert metric(text, "genrekit_requests_total", route="unmatched", code="404") == 5
    assert "/no/such" not in text


def test_openapi_documents_the_versioned_api(client) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/classify", "/v1/explain", "/v1/models", "/v1/models/{model_id}", "/healthz", "/metrics"} <= set(spec["paths"])
    assert "multipart/form-data" in spec["paths"]["/v1/models"]["post"]["requestBody"]["content"]
    assert "Classification" in spec["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_serve_refuses_uploads_without_a_token() -> None:
    result = CliRunner().invoke(cli_app, ["serve", "--allow-model-upload"], env={"GENREKIT_SERVE_TOKEN": ""})
    assert result.exit_code == 2 and "--token" in result.output


def test_serve_refuses_a_bad_model_before_listening(tmp_path) -> None:
    (tmp_path / "broken.genre").write_bytes(b"PK\x03\x04 not really")
    result = CliRunner().invoke(cli_app, ["serve", "-q", "--model", str(tmp_path / "broken.genre")])
    assert result.exit_code == 2 and "broken.genre" in result.output
