"""The web page end to end: the real server in a subprocess, the page in headless Chromium (Playwright).

Playwright cannot download its own browsers here, so it drives Debian's
chromium (`make test` installs it where apt-get is usable); without it these
tests skip. Screenshots are written under pytest's tmp_path (the paths are
printed) and to $GENREKIT_SCREENSHOT_DIR when set.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import numpy as np
import pytest
from synth import sine

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "genrekit" / "data" / "examples"
AUDIO_SUFFIXES = {".ogg", ".mp3", ".flac", ".wav", ".m4a", ".opus"}
PICTURES = ("mel", "mfcc", "zcr", "centroid")
ANSWER_TIMEOUT_MS = 45_000

if not CHROMIUM.is_file() and shutil.which("chromium") is None:
    pytest.skip(f"chromium is not installed ({CHROMIUM} missing; `make test` installs Debian's chromium with "
                "apt-get as root): browser tests skipped", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: browser tests skipped")

# How much of a canvas is painted, and in how many colours (every 7th pixel): a blank canvas paints nothing,
# one drawn at the wrong size paints one flat colour.
CANVAS_INK = """(id) => {
  const canvas = document.getElementById(id);
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0, sampled = 0;
  const colours = new Set();
  for (let i = 0; i < data.length; i += 4 * 7) {
    sampled += 1;
    if (data[i + 3] > 0) { painted += 1; colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]); }
  }
  return { painted: painted / sampled, colours: colours.size, width: canvas.width };
}"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """`create_app()` (the bundled default model) under uvicorn on a free loopback port."""
    port = _free_port()
    code = ("import uvicorn; from genrekit.serve.app import create_app; "
            f"uvicorn.run(create_app(), host='127.0.0.1', port={port}, log_level='warning')")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server exited ({process.returncode}): {process.stdout.read().decode(errors='replace')}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the server did not answer /healthz within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = str(CHROMIUM) if CHROMIUM.is_file() else shutil.which("chromium")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server: str):
    """A fresh page; fails the test on any uncaught script error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(ANSWER_TIMEOUT_MS)
    yield page
    context.close()
    assert not errors, f"script errors on the page: {errors}"


def _screenshot(page, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    folder = os.environ.get("GENREKIT_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(folder) / path.name)
        print(f"screenshot: {Path(folder) / path.name}")


def _settled(page) -> str:
    page.wait_for_function("['done', 'error'].includes(document.body.dataset.state)")
    return page.evaluate("document.body.dataset.state")


def _upload(page, file) -> dict | None:
    """Choose ``file`` in the picker; returns the classify answer the page received (None if it failed)."""
    with page.expect_response("**/v1/classify") as classify:
        page.set_input_files("#file", file)
    response = classify.value
    state = _settled(page)
    if response.ok:
        assert state == "done"
        return response.json()
    assert state == "error"
    return None


def _assert_drawn(page, canvas_id: str, *, min_colours: int) -> None:
    ink = page.evaluate(CANVAS_INK, canvas_id)
    assert ink["width"] > 100, f"#{canvas_id} drawn at {ink['width']} px: it was hidden when drawn"
    assert ink["painted"] > 0.05, f"#{canvas_id} is blank: {ink}"
    assert ink["colours"] >= min_colours, f"#{canvas_id} is nearly one flat colour: {ink}"


def test_each_example_gets_a_genre_a_timeline_and_pictures(page, server: str, tmp_path: Path) -> None:
    examples = sorted(p for p in EXAMPLES.iterdir() if p.suffix in AUDIO_SUFFIXES)
    assert len(examples) >= 4
    labels = httpx.get(f"{server}/v1/models").json()["models"][0]["labels"]
    page.goto(f"{server}/")
    page.wait_for_selector("#model:not([disabled])")
    assert page.locator("#model option").first.get_attribute("value") == "default"

    for example in examples:
        answer = _upload(page, example)
        assert answer is not None, f"{example.name} was not classified"
        assert answer["genre"] in labels
        assert page.inner_text("#verdict-genre") == answer["genre"]
        assert page.inner_text("#verdict-confidence") == f"{round(answer['confidence'] * 100)}%"
        assert page.locator("#top-genres li").count() == min(5, len(labels))
        assert page.locator("#top-genres li .name").first.inner_text() == answer["genre"]
        assert page.locator("#segments tbody tr").count() == len(answer["segments"]) > 0
        assert answer["coverage"]["mode"] == "full"
        assert page.is_visible("#timeline")
        _assert_drawn(page, "timeline", min_colours=2)
        for picture in PICTURES:
            _assert_drawn(page, picture, min_colours=3 if picture in ("zcr", "centroid") else 50)
            assert page.inner_text(f"#{picture}-explain").strip()
        assert page.evaluate("document.getElementById('player').src").startswith("blob:")  # the user's own copy
    _screenshot(page, tmp_path, "classified-desktop")

    # Clicking the timeline seeks the player, and the cursors follow it.
    page.wait_for_function("document.getElementById('player').readyState >= 1")
    span = float(page.get_attribute("#timeline-figure .track", "data-span"))
    track = page.locator("#timeline-figure .track")
    box = track.bounding_box()
    track.click(position={"x": box["width"] * 0.5, "y": box["height"] / 2})
    position = page.evaluate("document.getElementById('player').currentTime")
    assert position == pytest.approx(span / 2, abs=span * 0.05)
    left = page.evaluate("parseFloat(document.querySelector('#timeline-figure .cursor').style.left)")
    assert left == pytest.approx(50, abs=5)

    # At a phone's width the page fits without sideways scrolling.
    page.set_viewport_size({"width": 375, "height": 800})
    page.wait_for_function("""() => { const c = document.getElementById("mel");
      return c.width === Math.round(c.clientWidth * devicePixelRatio); }""")  # redrawn at the new width
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    _assert_drawn(page, "mel", min_colours=50)
    _screenshot(page, tmp_path, "classified-375px")


def test_a_text_file_named_mp3_shows_the_error_and_the_page_still_works(page, server: str, tmp_path: Path,
                                                                        write_audio) -> None:
    fake = tmp_path / "not audio.mp3"
    fake.write_text("just some words, not a recording\n" * 50)
    page.goto(f"{server}/")
    page.wait_for_selector("#model:not([disabled])")
    with page.expect_response("**/v1/classify") as classify:
        page.set_input_files("#file", str(fake))
    assert _settled(page) == "error"
    response = classify.value
    body = response.json()
    assert response.status == 415 and body["error"] == "unsupported"
    error = page.inner_text("#error")
    assert page.is_visible("#error")
    assert "415" in error and body["message"] in error
    assert not page.is_visible("#results")
    _screenshot(page, tmp_path, "error")

    tones = write_audio("tones.wav", np.concatenate([sine(220.0, 4.0), sine(1760.0, 4.0)]))
    answer = _upload(page, tones)
    assert answer is not None
    assert not page.is_visible("#error")
    assert page.inner_text("#verdict-genre") == answer["genre"]
    _assert_drawn(page, "mel", min_colours=50)


def test_the_models_page_shows_the_default_models_card_and_matrix(page, server: str, tmp_path: Path) -> None:
    detail = httpx.get(f"{server}/v1/models/default").json()
    page.goto(f"{server}/models")
    page.wait_for_function("document.body.dataset.state !== 'loading'")
    assert page.evaluate("document.body.dataset.state") == "done"
    card = page.locator('article[data-model-id="default"]')
    assert card.is_visible()
    text = card.inner_text()
    assert detail["name"] in text and detail["feature_set"] in text
    assert ", ".join(detail["labels"]) in text
    validation = detail["card"].get("validation")
    if validation and validation.get("metrics"):
        assert f"Validation ({validation['split']} split" in text
    elif validation:
        assert validation["note"] in text
    for figures in ((detail["card"].get("selection") or {}).get("selection_figures") or {}).values():
        assert figures["measured_on"] in text  # each score of the choice names the splits it was fit and scored on
    if detail["claimed"]:
        claimed = card.locator("tr.claimed").inner_text()
        assert f"{detail['claimed']['split']} split" in claimed
        assert f"{detail['claimed']['accuracy'] * 100:.1f}%" in claimed
    confusion = detail["confusion"]
    if confusion:
        table = card.locator("table.confusion")
        assert table.locator("tbody tr").count() == len(confusion["labels"])
        cells = [[int(c) for c in row] for row in table.locator("tbody tr").evaluate_all(
            "rows => rows.map(r => [...r.querySelectorAll('td')].map(td => td.textContent))")]
        assert cells == confusion["matrix"]
        assert f"{confusion['split']} split" in table.locator("caption").inner_text()
    _screenshot(page, tmp_path, "models")
