"""The evaluation HTML page: valid, self-contained, shows what it must."""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from genrekit.evaluation import classification_metrics
from genrekit.report.evaluation import confusion_png, render_evaluation_html

VOID = {"meta", "img", "br", "hr", "link", "input"}


class TagChecker(HTMLParser):
    """Fails on unbalanced or misnested tags; collects img sources and visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.images: list[str] = []
        self.text: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def metrics():
    rng = np.random.default_rng(0)
    labels = ["blues", "jazz", "<rock & roll>"]
    y_idx = rng.integers(0, 3, size=90)
    logits = rng.normal(size=(90, 3)) + 1.2 * np.eye(3)[y_idx]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return classification_metrics(np.array(labels)[y_idx], proba, labels)


def test_page_is_valid_self_contained_html(metrics):
    page = render_evaluation_html(metrics, "SVM on seed features",
                                  {"split": "GTZAN valid (fault-filtered)", "model": "svm", "level": "track"})
    assert page.startswith("<!DOCTYPE html>")
    checker = TagChecker()
    checker.feed(page)
    checker.close()
    assert not checker.errors, checker.errors
    assert not checker.stack, f"unclosed tags: {checker.stack}"
    text = " ".join(checker.text)
    for label in metrics["labels"]:
        assert label in text  # parser unescapes: the label was written escaped and reads back intact
    assert "<rock & roll>" not in page and "&lt;rock &amp; roll&gt;" in page
    assert "GTZAN valid (fault-filtered)" in text
    for word in ("accuracy", "balanced accuracy", "log loss", "ECE"):
        assert word in text
    assert f"{metrics['balanced_accuracy']:.1%}" in text
    # nothing fetched from elsewhere
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", page)
    assert "<script" not in page


def test_page_embeds_png_figures(metrics):
    from matplotlib.image import imread

    page = render_evaluation_html(metrics, "t", {"split": "valid"})
    checker = TagChecker()
    checker.feed(page)
    assert len(checker.images) == 2
    for src in checker.images:
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        image = imread(io.BytesIO(png), format="png")
        assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 200


def test_most_confused_pairs_are_listed(metrics):
    page = render_evaluation_html(metrics, "t", {"split": "valid"})
    top = metrics["most_confused"][0]
    assert top["count"] > 0
    row = re.search(r"<tr><td class=\"l\">([^<]*)</td><td class=\"l\">([^<]*)</td><td>(\d+)</td>", page)
    assert row is not None
    import html

    assert (html.unescape(row.group(1)), html.unescape(row.group(2)), int(row.group(3))) == (
        top["true"], top["predicted"], top["count"])


def test_unnamed_split_is_flagged(metrics):
    page = render_evaluation_html(metrics, "t", {})
    assert "Split not named" in page


def test_perfect_model_page_has_no_confusions():
    labels = ["a", "b"]
    m = classification_metrics(["a", "b", "b"], np.array([[1.0, 0.0], [0.0, 1.0], [0.1, 0.9]]), labels)
    page = render_evaluation_html(m, "perfect", {"split": "train (sanity check)"})
    assert "No confusions" in page
    assert confusion_png(m).startswith(b"\x89PNG")
