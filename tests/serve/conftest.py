"""Apps and uploads shared by the API tests: the tiny trained model, synthetic clips, a no-500 guard."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from genrekit.serve.app import create_app
from synth import sine, white_noise

SR = 22050


def audio_bytes(y: np.ndarray, fmt: str, sr: int = SR) -> bytes:
    """``y`` encoded as ``fmt`` (WAV, FLAC, MP3, OGG) in memory."""
    buffer = io.BytesIO()
    sf.write(buffer, y, sr, format=fmt)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def clip() -> Callable[..., bytes]:
    """``clip(seconds, fmt="WAV", kind="tones"|"noise"|"silence")``: a synthetic recording's bytes."""

    def make(seconds: float = 3.0, fmt: str = "WAV", kind: str = "tones") -> bytes:
        signals = {"tones": lambda: sine(330.0, seconds=seconds, amplitude=0.4),
                   "noise": lambda: white_noise(seconds=seconds, seed=7) * 0.6,
                   "silence": lambda: np.zeros(int(seconds * SR), dtype=np.float32)}
        return audio_bytes(signals[kind](), fmt)

    return make


def statuses(app) -> list[int]:
    """Every status this app has answered with (from its own request counters)."""
    return [status for (_, status) in app.state.genrekit.metrics.requests]


@pytest.fixture(scope="session")
def expect_error() -> Callable[..., dict]:
    """``expect_error(response, status, *codes)``: the contract's JSON error, naming no server path."""

    def check(response, status: int, *codes: str) -> dict:
        assert response.status_code == status, response.text
        body = response.json()
        assert set(body) == {"error", "message"}
        assert body["error"] in codes, body
        assert body["message"] and "genrekit-upload-" not in body["message"], body
        return body

    return check


@pytest.fixture
def serve_client() -> Iterator[Callable[..., TestClient]]:
    """``serve_client(**create_app_kwargs)``: a started TestClient; at the end, no answer may have been a 500
    (503 and 504 are the contract's answers to load; 500 is a bug)."""
    made = []

    def make(**kwargs) -> TestClient:
        client = TestClient(create_app(**kwargs))
        client.__enter__()
        made.append(client)
        return client

    yield make
    for client in made:
        client.__exit__(None, None, None)
        assert 500 not in statuses(client.app), client.app.state.genrekit.metrics.requests


@pytest.fixture
def client(serve_client, tiny_model: Path) -> TestClient:
    """An app offering only the tiny tones-vs-noise model (1 s windows), uploads off."""
    return serve_client(models=[tiny_model])
