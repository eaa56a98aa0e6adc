"""Generated sections of a hand-written Markdown page (docs/results.md), between HTML-comment markers.

Each generator owns one named section and rewrites only that, so the prose
around it survives a rerun.
"""

from __future__ import annotations

from pathlib import Path


def markers(name: str) -> tuple[str, str]:
    """``<!-- name:begin -->`` and ``<!-- name:end -->``."""
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def write_section(page: Path, name: str, body: str) -> None:
    """Put ``body`` between the markers of ``name`` in ``page``; append the section (or start the page) if absent."""
    begin, end = markers(name)
    section = f"{begin}\n\n{body.strip()}\n\n{end}"
    text = page.read_text() if page.exists() else "# Results\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    page.write_text(text)
