"""The web page's files as the server serves them: HTML pages, every asset they load, no request to another host.

These run in-process with TestClient; tests/serve/test_browser.py drives the
same pages in Chromium.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient

from genrekit.serve.app import create_app

STATIC = Path(__file__).resolve().parents[2] / "src" / "genrekit" / "serve" / "static"
PAGES = {"/": "index.html", "/models": "models.html"}
CONTENT_TYPES = {".html": "text/html", ".js": "javascript", ".css": "text/css"}
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]"}


class _References(HTMLParser):
    """Collects the URLs an HTML page loads or links to, and the ids it defines."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)
            if name == "id" and value:
                self.ids.add(value)


def _parse(html: str) -> _References:
    parser = _References()
    parser.feed(html)
    return parser


_JS_IMPORT = re.compile(r"""^\s*import\s[^;]*?\sfrom\s+["']([^"']+)["']""", re.MULTILINE)


def _static_path(url: str, base: str) -> str | None:
    """The /static/... path ``url`` (as written in the file served at ``base``) names, or None for anything else."""
    if url.startswith(("data:", "#")):
        return None
    path = urlsplit(urljoin(f"http://testserver{base}", url)).path
    return path if path.startswith("/static/") else None


@pytest.fixture(scope="module")
def client() -> TestClient:
    with TestClient(create_app()) as client:
        yield client


@pytest.mark.parametrize("route", sorted(PAGES))
def test_pages_are_html_documents(client: TestClient, route: str) -> None:
    response = client.get(route)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    text = response.text
    assert text.lower().startswith("<!doctype html>")
    assert '<html lang="en">' in text
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in text  # readable on a phone
    assert text == (STATIC / PAGES[route]).read_text(encoding="utf-8")


def test_every_referenced_asset_exists_and_is_served(client: TestClient) -> None:
    """Follows the pages' <script>/<link> and the scripts' imports; every static file is used by a page."""
    pending = [path for route in PAGES for url in _parse(client.get(route).text).urls
               if (path := _static_path(url, route)) is not None]
    seen: set[str] = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        on_disk = STATIC / path.removeprefix("/static/")
        assert on_disk.is_file(), f"{path} is referenced but not in {STATIC}"
        response = client.get(path)
        assert response.status_code == 200, path
        assert CONTENT_TYPES[on_disk.suffix] in response.headers["content-type"], path
        assert response.content == on_disk.read_bytes()
        if on_disk.suffix == ".js":
            pending += [p for url in _JS_IMPORT.findall(response.text) if (p := _static_path(url, path)) is not None]
    served = {"/static/" + str(p.relative_to(STATIC)) for p in STATIC.rglob("*") if p.is_file()}
    assert served - {f"/static/{name}" for name in PAGES.values()} == seen, "a static file no page loads"


def test_a_missing_asset_is_404(client: TestClient) -> None:
    assert client.get("/static/no-such-file.js").status_code == 404


def _urls_in(text: str) -> list[str]:
    """Absolute and protocol-relative URLs: http(s)://host... anywhere, //host in src/href/url()/@import."""
    absolute = re.findall(r"""\bhttps?://[^\s"'<>)`]+""", text, flags=re.IGNORECASE)
    relative = re.findall(r"""(?:src|href)\s*=\s*["']\s*(//[^"']+)|url\(\s*["']?\s*(//[^)"']+)|@import\s+["'](//[^"']+)""",
                          text, flags=re.IGNORECASE)
    return absolute + ["https:" + url for group in relative for url in group if url]


def test_no_static_file_names_another_host() -> None:
    files = sorted(p for p in STATIC.rglob("*") if p.is_file())
    assert {p.suffix for p in files} >= {".html", ".js", ".css"}
    for path in files:
        hosts = {urlsplit(url).hostname for url in _urls_in(path.read_text(encoding="utf-8"))}
        assert not hosts - LOCAL_HOSTS, f"{path.name} loads from {sorted(hosts - LOCAL_HOSTS)}"


def test_the_url_check_sees_external_urls() -> None:
    """The check above would catch a CDN script, a web font and a protocol-relative image."""
    sample = ('<script src="https://cdn.example.com/x.js"></script><img src="//img.example.org/a.png">'
              "@import 'https://fonts.example.net/css'; body { background: url(//x.example/b.png) }")
    assert {urlsplit(url).hostname for url in _urls_in(sample)} == {
        "cdn.example.com", "img.example.org", "fonts.example.net", "x.example"}


def test_scripts_put_outside_text_in_as_text() -> None:
    """Labels, file names and messages come from outside: no script builds HTML from strings."""
    for path in sorted(STATIC.glob("*.js")):
        code = path.read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in code, f"{path.name} uses {sink}"


def test_every_element_a_script_looks_up_is_on_its_page() -> None:
    for page, script in (("index.html", "app.js"), ("models.html", "models.js")):
        ids = _parse((STATIC / page).read_text(encoding="utf-8")).ids
        wanted = set(re.findall(r"""\$\(\s*["']([\w-]+)["']\s*\)""", (STATIC / script).read_text(encoding="utf-8")))
        assert wanted, script
        assert wanted <= ids, f"{script} looks up {sorted(wanted - ids)}, which {page} lacks"


def test_form_controls_have_labels() -> None:
    """Every input and select has a <label for=...> (screen readers name the control by it)."""
    for page in PAGES.values():
        html = (STATIC / page).read_text(encoding="utf-8")
        controls = set(re.findall(r"""<(?:input|select|textarea)\b[^>]*\bid="([\w-]+)\"""", html))
        labelled = set(re.findall(r"""<label\b[^>]*\bfor="([\w-]+)\"""", html))
        assert controls, page
        assert controls <= labelled, f"{page}: unlabelled {sorted(controls - labelled)}"
