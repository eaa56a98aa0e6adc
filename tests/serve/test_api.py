"""The audio API through TestClient: answers in the contract's shapes, every refusal as JSON, serving on after each.

The app offers the tiny tones-vs-noise model (tests/conftest.py), so every
verdict has an obvious right answer; the serve conftest fails a test whose
app ever answered 500.
"""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.serve.uploads import MULTIPART_SLACK_BYTES


def classify(client, data: bytes, name: str = "clip.wav", **form):
    return client.post("/v1/classify", files={"file": (name, data)}, data=form)


@pytest.mark.parametrize("fmt, name", [("WAV", "tone.wav"), ("FLAC", "tone.flac"), ("MP3", "tone.mp3")])
def test_classify_names_the_genre_of_each_format(client, clip, fmt, name) -> None:
    response = classify(client, clip(3.0, fmt), name)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["path"] == name
    assert body["genre"] == "tones"
    assert set(body["probabilities"]) == {"tones", "noise"}
    assert sum(body["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
    assert body["model"] == client.get("/v1/models").json()["models"][0]["id"]
    assert body["coverage"]["mode"] == "full" and body["coverage"]["windows"] == len(body["segments"]) >= 4
    assert body["analysed"]["truncated"] is False
    assert body["analysed"]["seconds"] == pytest.approx(3.0, abs=0.1)
    timings = body["timings"]
    assert timings["total_s"] >= timings["analysis_s"] >= 0 and timings["queue_s"] >= 0


def test_classify_matches_the_library_verdict(client, clip, tiny_model, tmp_path) -> None:
    from genrekit.predict import load_model

    data = clip(4.0, "WAV", kind="noise")
    (tmp_path / "noise.wav").write_bytes(data)
    expected = load_model(tiny_model).predict(tmp_path / "noise.wav", coverage="full").to_dict()
    body = classify(client, data, "noise.wav").json()
    assert {k: body[k] for k in expected} == expected | {"path": "noise.wav"}


def test_fast_coverage_hears_at_most_twelve_windows(client, clip) -> None:
    body = classify(client, clip(20.0), coverage="fast").json()
    assert body["coverage"]["mode"] == "fast"
    assert body["coverage"]["windows"] == 12 < body["coverage"]["of"]
    assert body["genre"] == "tones"


def test_only_the_first_max_duration_seconds_are_heard(serve_client, tiny_model, clip) -> None:
    client = serve_client(models=[tiny_model], max_duration_s=3)
    for coverage in ("full", "fast"):
        body = classify(client, clip(10.0), coverage=coverage).json()
        assert body["analysed"] == {"seconds": pytest.approx(3.0, abs=0.05), "duration_s": pytest.approx(10.0),
                                    "truncated": True, "max_duration_s": 3.0}
        assert max(segment["end"] for segment in body["segments"]) <= 3.0 + 1e-6
        assert body["genre"] == "tones"


def test_a_hostile_file_name_is_only_data(client, clip, tmp_path) -> None:
    target = tmp_path / "evil\x1b[31m [red]x[/red] é.wav"
    name = f"../../../../../../../..{target}"
    body = classify(client, clip(2.0), name).json()
    assert body["path"] == name and body["genre"] == "tones"
    assert not target.exists()


def test_413_when_content_length_is_over_the_limit(serve_client, tiny_model, clip, expect_error) -> None:
    client = serve_client(models=[tiny_model], max_upload_mb=0.05)  # 52 kB
    response = classify(client, clip(10.0))  # 441 kB: refused from its Content-Length
    assert int(response.request.headers["content-length"]) > 0.05 * 1024**2 + MULTIPART_SLACK_BYTES
    expect_error(response, 413, "too_large")


def test_413_when_the_file_alone_is_over_the_limit(serve_client, tiny_model, clip, expect_error) -> None:
    client = serve_client(models=[tiny_model], max_upload_mb=0.05)
    data = clip(1.5)  # 66 kB: the body is within the envelope's slack, the file is not within the limit
    assert 0.05 * 1024**2 < len(data) < 0.05 * 1024**2 + MULTIPART_SLACK_BYTES
    expect_error(classify(client, data), 413, "too_large")


def test_413_when_a_streamed_body_passes_the_limit(serve_client, tiny_model, expect_error) -> None:
    client = serve_client(models=[tiny_model], max_upload_mb=0.05)
    boundary = "genrekitboundary"
    sent = []

    def body():  # no Content-Length: the server only learns the size by counting
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.wav\"\r\n"
               "Content-Type: audio/wav\r\n\r\n").encode()
        for _ in range(64):
            sent.append(1)
            yield b"\x00" * 16384
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post("/v1/classify", content=body(),
                           headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert "content-length" not in response.request.headers
    expect_error(response, 413, "too_large")


def test_every_refusal_is_json_and_the_server_serves_on(client, clip, expect_error) -> None:
    text = b"this is not audio, just a text file with an mp3 name\n" * 40
    cases = [
        (classify(client, text, "song.mp3"), (415, 422), ("unsupported", "corrupt")),
        (classify(client, b"", "empty.wav"), (422,), ("corrupt",)),
        (classify(client, clip(0.2), "short.wav"), (422,), ("too_short",)),
        (classify(client, np.random.default_rng(3).bytes(50_000), "garbage.wav"), (415, 422), ("unsupported", "corrupt")),
        (classify(client, clip(2.0)[:200], "truncated.wav"), (415, 422), ("corrupt", "unsupported")),
        (client.post("/v1/classify", data={"model": "x"}), (422,), ("bad_request",)),
        (classify(client, clip(2.0), model="000000000000"), (404,), ("not_found",)),
        (classify(client, clip(2.0), coverage="everything"), (422,), ("bad_request",)),
        (client.get("/v1/models/nope"), (404,), ("not_found",)),
        (client.get("/no/such/page"), (404,), ("not_found",)),
    ]
    for response, status, codes in cases:
        assert response.status_code in status, response.text
        expect_error(response, response.status_code, *codes)
        assert client.get("/healthz").json()["status"] == "ok"
    assert classify(client, clip(2.0)).json()["genre"] == "tones"


def test_the_missing_field_is_named(client, expect_error) -> None:
    body = expect_error(client.post("/v1/classify", data={"coverage": "fast"}), 422, "bad_request")
    assert "file" in body["message"]


def test_the_error_names_the_upload_not_the_spooled_copy(client, expect_error) -> None:
    body = expect_error(classify(client, b"", "my song.wav"), 422, "corrupt")
    assert "my song.wav" in body["message"]


def test_uploads_leave_nothing_behind(client, clip, monkeypatch, tmp_path) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    classify(client, clip(2.0))
    classify(client, b"garbage", "bad.wav")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("genrekit-upload-")]


def test_explain_returns_frame_arrays_of_one_length(client, clip) -> None:
    response = client.post("/v1/explain", files={"file": ("long.flac", clip(30.0, "FLAC"))})
    assert response.status_code == 200, response.text
    body = response.json()
    n = len(body["times"])
    assert 500 < n <= 1000  # 30 s is ~1,300 frames of 512 samples: decimated
    assert len(body["zcr"]) == len(body["centroid"]) == n
    assert all(len(row) == n for row in body["mel"]["db"]) and all(len(row) == n for row in body["mfcc"])
    assert len(body["mel"]["db"]) == len(body["mel"]["frequencies"]) > 0
    assert len(body["mfcc"]) == 20
    assert np.diff(body["times"]) == pytest.approx(body["hop_seconds"], rel=0.05)
    assert body["duration_s"] == pytest.approx(30.0, abs=0.05) and body["truncated"] is False
    assert body["centroid"][n // 2] == pytest.approx(330.0, rel=0.15)  # a 330 Hz sine is as bright as 330 Hz
    assert set(body["explanations"]) == {"mel", "mfcc", "zcr", "centroid"}


def test_explain_refuses_what_classify_refuses(client, expect_error) -> None:
    expect_error(client.post("/v1/explain", files={"file": ("x.mp3", b"not audio at all" * 10)}), 415,
                 "unsupported")
    expect_error(client.post("/v1/explain", files={"file": ("x.wav", b"")}), 422, "corrupt")


def test_explain_of_silence_is_finite_json(client, clip) -> None:
    response = client.post("/v1/explain", files={"file": ("silence.wav", clip(2.0, kind="silence"))})
    assert response.status_code == 200, response.text
    assert all(np.isfinite(response.json()["centroid"]))
