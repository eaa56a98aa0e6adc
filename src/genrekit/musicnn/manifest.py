"""A network folder's ``manifest.json`` (provenance and SHA-256 of each file), read without trusting it.

Kept apart from the converter so that loading a network (which checks the
hashes) does not import the converter, and the converter (which loads what it
wrote) does not import itself through the loader.
"""

from __future__ import annotations

import json
from pathlib import Path

from genrekit.fileio import sha256_file
from genrekit.musicnn.paths import MANIFEST

MAX_MANIFEST_BYTES = 1 << 20


def read_manifest(folder: Path) -> dict | None:
    """The manifest of a network folder, or ``None`` when there is none (or it is unreadable, too big, not an object)."""
    try:
        path = Path(folder) / MANIFEST
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


__all__ = ["read_manifest", "sha256_file"]
