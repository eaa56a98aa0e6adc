"""Writing the library table out as CSV, Parquet or JSON lines, chosen by the file's ending.

Every format holds the same columns (:data:`EXPORT_COLUMNS`); probabilities
are a JSON object in CSV, a map in Parquet and an object in JSON lines. Rows
are read from the database and written a batch at a time, so a large library
does not have to fit in memory, and the file appears atomically
(:func:`genrekit.fileio.atomic_write`).
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

from genrekit.errors import ConfigError
from genrekit.fileio import atomic_write
from genrekit.library.db import LibraryDB

EXPORT_COLUMNS = ("path", "genre", "confidence", "probabilities", "duration", "hash", "size", "model", "error",
                  "scanned_at")
BATCH_ROWS = 10_000


def _dicts(db: LibraryDB) -> Iterator[dict[str, Any]]:
    for row in db.rows():
        data = row.as_dict()
        yield {c: data.get(c) for c in EXPORT_COLUMNS}


def _write_jsonl(db: LibraryDB, f: BinaryIO) -> int:
    n = 0
    for data in _dicts(db):
        if data["error"] is None:
            del data["error"]
        f.write(json.dumps(data, ensure_ascii=False).encode("utf-8") + b"\n")
        n += 1
    return n


def _write_csv(db: LibraryDB, f: BinaryIO) -> int:
    text = io.TextIOWrapper(f, encoding="utf-8", newline="")
    writer = csv.DictWriter(text, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    n = 0
    for data in _dicts(db):
        writer.writerow(data | {"probabilities": json.dumps(data["probabilities"], ensure_ascii=False)})
        n += 1
    text.flush()
    text.detach()  # the caller closes ``f``
    return n


def _write_parquet(db: LibraryDB, f: BinaryIO) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([
        ("path", pa.string()), ("genre", pa.string()), ("confidence", pa.float64()),
        ("probabilities", pa.map_(pa.string(), pa.float64())), ("duration", pa.float64()), ("hash", pa.string()),
        ("size", pa.int64()), ("model", pa.string()), ("error", pa.string()), ("scanned_at", pa.float64()),
    ])
    n = 0
    with pq.ParquetWriter(f, schema) as writer:
        batch: list[dict[str, Any]] = []
        for data in _dicts(db):
            batch.append(data | {"probabilities": list(data["probabilities"].items())})
            if len(batch) >= BATCH_ROWS:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                n += len(batch)
                batch = []
        writer.write_table(pa.Table.from_pylist(batch, schema=schema))
        n += len(batch)
    return n


WRITERS: dict[str, Callable[[LibraryDB, BinaryIO], int]] = {
    ".jsonl": _write_jsonl, ".csv": _write_csv, ".parquet": _write_parquet,
}


def export_table(db: LibraryDB, target: str | os.PathLike[str]) -> int:
    """Write every row of ``db`` to ``target`` in the format its ending names; returns the rows written."""
    writer = WRITERS.get(Path(target).suffix.lower())
    if writer is None:
        raise ConfigError(f"{target}: cannot tell the export format from its ending "
                          f"(use one of {', '.join(sorted(WRITERS))})")
    written: list[int] = []
    atomic_write(target, lambda f: written.append(writer(db, f)))
    return written[0]


__all__ = ["EXPORT_COLUMNS", "WRITERS", "export_table"]
