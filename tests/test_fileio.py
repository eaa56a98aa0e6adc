"""Atomic writes: the umask's mode for new files, nothing half-written under the final name, no temp files left."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from genrekit.fileio import atomic_write, atomic_write_bytes, atomic_write_text, current_umask, new_file_mode


@pytest.fixture
def umask():
    """Set the umask for the test (``umask(0o077)``) and put the old one back afterwards."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664), (0o027, 0o640)])
def test_new_file_gets_the_umask_mode(tmp_path, umask, mask, mode):
    umask(mask)
    assert current_umask() == mask and new_file_mode() == mode
    target = atomic_write_bytes(tmp_path / "out.bin", b"data")
    assert target == tmp_path / "out.bin" and target.read_bytes() == b"data"
    assert target.stat().st_mode & 0o777 == mode


def test_a_replaced_file_gets_the_umask_mode_not_the_old_files(tmp_path, umask):
    target = tmp_path / "out.txt"
    target.write_text("old")
    target.chmod(0o600)
    umask(0o022)
    atomic_write_text(target, "new")
    assert target.read_text() == "new" and target.stat().st_mode & 0o777 == 0o644


def test_a_failed_write_leaves_neither_target_nor_temporary_file(tmp_path):
    def fail(f):
        f.write(b"half a file")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(tmp_path / "sub" / "out.bin", fail)
    assert list((tmp_path / "sub").iterdir()) == []

    def interrupted(f):
        f.write(b"half a file")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "out.bin", interrupted)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"]


def test_a_failed_rewrite_keeps_the_old_file(tmp_path):
    target = atomic_write_bytes(tmp_path / "out.bin", b"complete old content")

    def fail(f):
        f.write(b"partial")
        raise OSError("no space left")

    with pytest.raises(OSError, match="no space"):
        atomic_write(target, fail)
    assert target.read_bytes() == b"complete old content"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_the_target_is_replaced_atomically(tmp_path):
    """While one file is rewritten over and over, a reader only ever sees one complete version or the other."""
    target = tmp_path / "out.bin"
    versions = [bytes([i]) * 300_000 for i in range(2)]
    atomic_write_bytes(target, versions[0])
    first = open(target, "rb")  # held open: a rename leaves it the old file, an in-place rewrite would not
    seen: set[bytes] = set()
    stop = threading.Event()

    def read():
        while not stop.is_set():
            seen.add(target.read_bytes())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(60):
            # written in small pieces, so that a reader of the final name would catch a partial file
            atomic_write(target, lambda f, data=versions[i % 2]: [f.write(data[j:j + 4096])
                                                                  for j in range(0, len(data), 4096)])
    finally:
        stop.set()
        reader.join()
    assert seen <= set(versions) and seen
    with first:
        assert first.read() == versions[0]  # new files were renamed over the old one; it was never rewritten
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_writer_gets_a_seekable_binary_file_and_fsync_works(tmp_path):
    import zipfile

    def write(f):
        with zipfile.ZipFile(f, "w") as zf:
            zf.writestr("a.txt", "hello")

    target = atomic_write(tmp_path / "x.zip", write, fsync=True)
    with zipfile.ZipFile(target) as zf:
        assert zf.read("a.txt") == b"hello"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="compares /proc with os.umask")
def test_umask_fallback_agrees_with_proc(monkeypatch, umask):
    umask(0o037)
    from_proc = current_umask()
    monkeypatch.setattr(sys, "platform", "other")
    assert current_umask() == from_proc == 0o037
    assert os.umask(0o037) == 0o037  # the fallback put the umask back
