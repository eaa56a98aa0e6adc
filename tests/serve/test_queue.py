"""The bounded queue: a full queue answers 503 at once, a slow analysis 504, and the server serves on after both.

The worker is held on a threading.Event, so what is running and what is
waiting is known exactly when the next request arrives; nothing here
depends on how fast the machine is.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from genrekit.serve import analysis

DEADLINE_S = 60.0


def wait_until(condition, what: str) -> None:
    """Poll ``condition`` until it holds (a safety deadline only turns a hang into a failure)."""
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


@pytest.fixture
def held(monkeypatch):
    """Analyses block until ``held.set()``; ``held.paths`` collects the spooled files they were given."""
    gate = threading.Event()
    gate.paths = []
    real = analysis.classify_upload

    def blocking(classifier, path, name, **kwargs):
        gate.paths.append(path)
        assert gate.wait(DEADLINE_S), "the test never released the worker"
        return real(classifier, path, name, **kwargs)

    monkeypatch.setattr(analysis, "classify_upload", blocking)
    yield gate
    gate.set()


def post(client, data: bytes):
    return client.post("/v1/classify", files={"file": ("clip.wav", data)})


def test_503_busy_at_once_when_every_worker_and_queue_place_is_taken(serve_client, tiny_model, clip, held,
                                                                     expect_error) -> None:
    client = serve_client(models=[tiny_model], workers=1, queue=1)
    work = client.app.state.genrekit.work
    data = clip(2.0)
    with ThreadPoolExecutor(2) as pool:
        running = pool.submit(post, client, data)
        wait_until(lambda: work.running == 1, "the first request to start")
        queued = pool.submit(post, client, data)
        wait_until(lambda: work.waiting == 1, "the second request to queue")
        expect_error(post(client, data), 503, "busy")
        expect_error(client.post("/v1/explain", files={"file": ("clip.wav", data)}), 503, "busy")
        assert "queue_depth 1" in client.get("/metrics").text
        held.set()
        assert running.result().status_code == queued.result().status_code == 200
    assert post(client, data).json()["genre"] == "tones"


def test_504_past_the_time_limit_then_serving_on(serve_client, tiny_model, clip, held, expect_error) -> None:
    client = serve_client(models=[tiny_model], workers=1, queue=2, timeout_s=1.0)
    work = client.app.state.genrekit.work
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(post, client, clip(2.0))
        wait_until(lambda: work.running == 1, "the analysis to start")  # and it stays held past the limit
        expect_error(slow.result(), 504, "timeout")
    assert work.running == 1  # the analysis itself cannot be interrupted: it keeps its worker until it ends
    held.set()
    wait_until(lambda: work.running == 0 and work.waiting == 0, "the timed-out analysis to end")
    assert not held.paths[0].exists()  # its upload was deleted once it ended
    assert post(client, clip(2.0)).json()["genre"] == "tones"


def test_a_request_that_times_out_in_the_queue_frees_its_place(serve_client, tiny_model, clip, held,
                                                               expect_error) -> None:
    client = serve_client(models=[tiny_model], workers=1, queue=1, timeout_s=1.0)
    work = client.app.state.genrekit.work
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(post, client, clip(2.0))
        wait_until(lambda: work.running == 1, "the first request to start")
        expect_error(post(client, clip(2.0)), 504, "timeout")  # waited in the queue past the limit
        assert work.waiting == 0
        held.set()
        expect_error(first.result(), 504, "timeout")  # held past the limit too
    wait_until(lambda: work.running == 0, "the worker to be free")
    assert post(client, clip(2.0)).status_code == 200


def test_the_queue_itself_refuses_when_full(tiny_model) -> None:
    """The final say is the queue's: a job offered when every place is taken is refused, its cleanup run."""
    import asyncio

    from genrekit.serve.errors import ApiError
    from genrekit.serve.work import WorkQueue

    work = WorkQueue(workers=1, queue=0, timeout_s=60)
    gate = threading.Event()
    cleaned = []

    async def scenario() -> None:
        first = asyncio.ensure_future(work.run(gate.wait, cleanup=lambda: cleaned.append("first")))
        await asyncio.sleep(0)
        assert work.full
        with pytest.raises(ApiError) as refused:
            await work.run(lambda: None, cleanup=lambda: cleaned.append("second"))
        assert refused.value.status == 503 and cleaned == ["second"]
        gate.set()
        await first

    asyncio.run(scenario())
    wait_until(lambda: "first" in cleaned, "the first job's cleanup")
    assert not work.full
    work.close()
