"""diff_spans: the changed ranges of a rewritten file, and splicing them back byte for byte."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from genrekit.errors import TagError
from genrekit.library import splice
from genrekit.library.splice import content_hash, diff_spans, spliced
from genrekit.store import file_hash


def body(n: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


CASES = {
    "head grows (ID3v2)": lambda b: (b"ID3old" + b, b"ID3-a-longer-tag" + b),
    "head and tail change, same length (RIFF size + id3 chunk)": lambda b: (b"RIFF1234" + b + b"tag1",
                                                                            b"RIFF5678" + b + b"tag2-longer"),
    "head grows, tail byte changes (ID3v2 + ID3v1)": lambda b: (b"H" + b + b"TAG\x01", b"HHHHH" + b + b"TAG\x02"),
    "only the end changes (moov at the end)": lambda b: (b + b"moov-old", b + b"moov-new!!"),
    "nothing changes": lambda b: (b, b),
}


@pytest.mark.parametrize("case", CASES)
def test_splicing_the_spans_into_the_new_file_gives_the_old_file_and_keeps_little(case: str, tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(splice, "EDIT_WINDOW", 4096)  # files larger than the window, kept small for the test
    old, new = CASES[case](body(200_000))
    (tmp_path / "old").write_bytes(old)
    (tmp_path / "new").write_bytes(new)
    spans = diff_spans(tmp_path / "old", tmp_path / "new", file_hash(tmp_path / "old"))
    rebuilt = b"".join(spliced(io.BytesIO(new), spans))
    assert rebuilt == old
    assert sum(len(s.old) for s in spans) <= 16


def test_a_rewrite_too_large_to_journal_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(splice, "MAX_JOURNAL_BYTES", 1000)
    (tmp_path / "old").write_bytes(body(50_000, 1))
    (tmp_path / "new").write_bytes(body(50_000, 2))
    with pytest.raises(TagError, match="too much"):
        diff_spans(tmp_path / "old", tmp_path / "new", file_hash(tmp_path / "old"))


def test_content_hash_is_the_store_s_file_hash(tmp_path: Path):
    data = body(300_000, 3)
    (tmp_path / "f").write_bytes(data)
    assert content_hash(iter([data[:7], data[7:]])) == file_hash(tmp_path / "f")
