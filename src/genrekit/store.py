"""Feature tables: one row per analysis window, computed once per file content.

:func:`compute_features` decodes each file, cuts it into windows and runs a
:class:`~genrekit.features.base.FeatureSet` over them. Each file's result is
cached under ``<cache>/features/<config key>/`` by the hash of the file's bytes,
where the config key covers the feature set's configuration, the windowing and
the sample rate. Cache entries are ``.npy`` arrays (read with
``allow_pickle=False``) written atomically as each file finishes, so a rerun
computes only new or changed files and a killed run resumes where it stopped.

The cache is keyed by the BLAKE2b-128 hash of each file's full content, never
by its name or timestamps. To spare reruns over many unchanged files reading
every byte again, a small SQLite index (``<cache>/file-index.sqlite3``)
remembers, per path, the content hash together with a cheap signature of the
file (:class:`FileSignature`): its size, inode and device, modification *and*
change time (``st_mtime_ns``, ``st_ctime_ns``), and a digest of its first and
last 64 KiB. The stored hash is reused only when every part of the signature
matches; otherwise the file is hashed in full again. A rewrite that keeps the
size and puts the old mtime back (``touch -r``, ``os.utime``) still changes
the ctime, which no user-level call can set back, so it is caught; a file
renamed over another has another inode; and the head and tail digest catches
most rewrites on file systems whose times are coarse or unreliable (FAT, some
network mounts). Output files (tables, cache entries) are written atomically,
with the mode ``0o666 & ~umask`` of any new file (:mod:`genrekit.fileio`).

Files that cannot be decoded (or whose features fail) are reported as
:class:`Failure` rows and skipped; the rest are kept. :func:`write_table` writes
the table as Parquet with the configuration in the schema metadata, and
:func:`read_table` reads it back as a float32 matrix for training.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
import pyarrow as pa

from genrekit import __version__
from genrekit.audio import Windowing, probe, stream_audio, stream_windows
from genrekit.datasets import Record
from genrekit.errors import AudioNotFoundError, FeatureTableError, GenrekitError, NonFiniteFeaturesError
from genrekit.features.base import FeatureSet
from genrekit.fileio import atomic_write, path_text
from genrekit.distributed.paths import PathMap, where_it_failed, worker_path
from genrekit.processes import map_in_workers

if TYPE_CHECKING:
    from distributed import Client

STORE_FORMAT = 2  # 2: an end-aligned last window covers a long tail (audio.Windowing)
"""Bump when the cached arrays or the table layout change: it is part of every cache key."""

META_COLUMNS = ("path", "label", "split", "group", "start", "end", "file_hash")
"""Columns before the features: where each row comes from (``start``/``end`` in seconds)."""

METADATA_KEY = b"genrekit"
_HASH_CHUNK = 1 << 20
_EDGE_BYTES = 64 << 10




# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Failure:
    """A file that was skipped: its path, the error's type name and message."""

    path: str
    error: str
    message: str


@dataclass(frozen=True)
class Progress:
    """Reported after each file: counts so far and what happened to ``path``."""

    done: int
    total: int
    computed: int
    cached: int
    failed: int
    path: str
    status: str  # "computed" | "cached" | "failed"


@dataclass
class FeatureTableResult:
    """The table of the files that worked, the files that did not, and how each was obtained."""

    table: pa.Table
    failures: list[Failure]
    computed: int
    cached: int
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def n_files(self) -> int:
        return self.computed + self.cached + self.failed

    @property
    def n_rows(self) -> int:
        return self.table.num_rows

    def write(self, out: str | os.PathLike[str]) -> Path:
        return write_table(self, out)

    def matrix(self, split: str | None = None) -> "FeatureMatrix":
        """The table as a :class:`FeatureMatrix` for scikit-learn, without a round trip to disk."""
        return matrix_from_table(self.table, self.metadata, split=split)


@dataclass
class FeatureMatrix:
    """A feature table in memory, ready for scikit-learn.

    X : float32 ``(n_rows, n_features)``; the other arrays have ``n_rows``
    entries (``labels``/``splits`` hold ``None`` where unknown).
    """

    X: np.ndarray
    columns: list[str]
    paths: np.ndarray
    labels: np.ndarray
    splits: np.ndarray
    groups: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    metadata: dict[str, Any]

    def __len__(self) -> int:
        return self.X.shape[0]

    def select(self, mask: np.ndarray) -> "FeatureMatrix":
        """The rows where ``mask`` (boolean or index array) selects."""
        return FeatureMatrix(
            X=self.X[mask],
            columns=list(self.columns),
            paths=self.paths[mask],
            labels=self.labels[mask],
            splits=self.splits[mask],
            groups=self.groups[mask],
            starts=self.starts[mask],
            ends=self.ends[mask],
            metadata=self.metadata,
        )

    def rows(self) -> list[dict[str, Any]]:
        """Per-row metadata as dicts (path, label, split, group, start, end)."""
        return [
            {"path": p, "label": lab, "split": s, "group": g, "start": float(a), "end": float(b)}
            for p, lab, s, g, a, b in zip(self.paths, self.labels, self.splits, self.groups, self.starts, self.ends)
        ]


# --------------------------------------------------------------------------- keys and cache


def default_cache_dir() -> Path:
    """``$GENREKIT_CACHE``, else ``$XDG_CACHE_HOME/genrekit``, else ``~/.cache/genrekit``."""
    env = os.environ.get("GENREKIT_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "genrekit"


def table_config(feature_set: FeatureSet, windowing: Windowing) -> dict[str, Any]:
    """Everything that determines a file's rows (and so its cache key)."""
    return {
        "store_format": STORE_FORMAT,
        "feature_set": feature_set.config(),
        "windowing": {**windowing.as_dict(), "min_fraction": windowing.min_fraction},
        "sample_rate": feature_set.sample_rate,
    }


def config_key(feature_set: FeatureSet, windowing: Windowing) -> str:
    """A short hash of :func:`table_config`; names the cache folder."""
    blob = json.dumps(table_config(feature_set, windowing), sort_keys=True).encode()
    return f"{feature_set.name}-{hashlib.sha256(blob).hexdigest()[:16]}"


def file_hash(path: str | os.PathLike[str]) -> str:
    """BLAKE2b-128 of the file's bytes, read in 1 MiB chunks (hex)."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def edge_digest(path: str | os.PathLike[str], size: int | None = None) -> str:
    """BLAKE2b-128 of the file's first and last 64 KiB (the whole file when it is smaller than 128 KiB)."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        if size is None:
            size = os.fstat(f.fileno()).st_size
        h.update(f.read(_EDGE_BYTES))
        if size > _EDGE_BYTES:
            f.seek(max(_EDGE_BYTES, size - _EDGE_BYTES))
            h.update(f.read(_EDGE_BYTES))
    return h.hexdigest()


@dataclass(frozen=True)
class FileSignature:
    """What the hash index checks before it trusts a stored content hash (see the module docstring)."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    device: int
    edges: str  # edge_digest: first and last 64 KiB

    @classmethod
    def stat_part(cls, st: os.stat_result) -> tuple[int, int, int, int, int]:
        return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)

    def matches_stat(self, st: os.stat_result) -> bool:
        return (self.size, self.mtime_ns, self.ctime_ns, self.inode, self.device) == self.stat_part(st)

    @classmethod
    def of(cls, path: str | os.PathLike[str], st: os.stat_result | None = None) -> "FileSignature":
        st = os.stat(path) if st is None else st
        return cls(*cls.stat_part(st), edges=edge_digest(path, st.st_size))


def _atomic_write(target: Path, write: Callable[[Any], None]) -> None:
    """:func:`genrekit.fileio.atomic_write`: a temporary sibling renamed over ``target``, mode per umask."""
    atomic_write(target, write)


class FeatureCache:
    """Per-file result arrays ``(n_windows, 2 + n_columns)``: start s, end s, features (float64)."""

    def __init__(self, root: str | os.PathLike[str], key: str, n_columns: int) -> None:
        self.dir = Path(root) / "features" / key
        self.n_columns = n_columns

    def path_for(self, digest: str) -> Path:
        return self.dir / digest[:2] / f"{digest}.npy"

    def get(self, digest: str) -> np.ndarray | None:
        """The cached array, or ``None`` when absent or unreadable (then it is recomputed)."""
        p = self.path_for(digest)
        try:
            arr = np.load(p, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None
        if arr.ndim != 2 or arr.shape[1] != 2 + self.n_columns or arr.dtype != np.float64:
            return None
        return arr

    def put(self, digest: str, arr: np.ndarray) -> None:
        _atomic_write(self.path_for(digest), lambda f: np.save(f, arr, allow_pickle=False))


class HashIndex:
    """``path -> (FileSignature, content hash)``, kept in SQLite; a convenience, never the key.

    :meth:`lookup` returns the stored hash only when the file's signature
    (size, inode, device, mtime, ctime, head and tail digest) is unchanged;
    the stat fields are compared first, so a changed file costs no read here.
    Any SQLite trouble (read-only or locked cache) turns the index off rather
    than failing the run: files are then simply hashed again.
    """

    TABLE = "files_v2"
    """The table's name; ``files`` was the ``(path, size, mtime_ns)`` index of earlier versions, dropped."""

    def __init__(self, db: Path | None) -> None:
        self._con: sqlite3.Connection | None = None
        self._pending = 0
        if db is None:
            return
        try:
            db.parent.mkdir(parents=True, exist_ok=True)
            self._con = sqlite3.connect(str(db), timeout=30)
            self._con.execute("DROP TABLE IF EXISTS files")  # the old, weaker index: trust none of it
            self._con.execute(
                f"CREATE TABLE IF NOT EXISTS {self.TABLE} (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, "
                "ctime_ns INTEGER, inode INTEGER, device INTEGER, edges TEXT, hash TEXT)"
            )
            self._con.commit()
        except sqlite3.Error:
            self._con = None

    def lookup(self, path: str) -> str | None:
        """The content hash stored for ``path`` if the file is provably unchanged since, else ``None``."""
        if self._con is None:
            return None
        try:
            row = self._con.execute(
                f"SELECT size, mtime_ns, ctime_ns, inode, device, edges, hash FROM {self.TABLE} WHERE path = ?",
                (path_text(path),),
            ).fetchone()
        except sqlite3.Error:
            return None
        if row is None:
            return None
        stored = FileSignature(*row[:6])
        try:
            st = os.stat(path)
            if not stored.matches_stat(st) or edge_digest(path, st.st_size) != stored.edges:
                return None
            if not stored.matches_stat(os.stat(path)):  # changed while its edges were read
                return None
        except OSError:
            return None
        return row[6]

    def put(self, path: str, signature: FileSignature, digest: str) -> None:
        if self._con is None:
            return
        s = signature
        try:
            self._con.execute(
                f"INSERT OR REPLACE INTO {self.TABLE} (path, size, mtime_ns, ctime_ns, inode, device, edges, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (path_text(path), s.size, s.mtime_ns, s.ctime_ns, s.inode, s.device, s.edges, digest),
            )
            self._pending += 1
            if self._pending >= 500:
                self.commit()
        except sqlite3.Error:
            pass

    def commit(self) -> None:
        if self._con is not None and self._pending:
            try:
                self._con.commit()
            except sqlite3.Error:
                pass
            self._pending = 0

    def close(self) -> None:
        if self._con is not None:
            self.commit()
            self._con.close()
            self._con = None


# --------------------------------------------------------------------------- per-file work


@dataclass(frozen=True)
class _Outcome:
    path: str
    status: str  # computed | cached | failed
    digest: str | None = None
    stat: FileSignature | None = None  # the file the hash belongs to (None: unknown or changed meanwhile)
    array: np.ndarray | None = None
    failure: Failure | None = None


class _Job:
    """What each worker needs: the feature set, the windowing and the cache (picklable for spawn)."""

    def __init__(self, feature_set: FeatureSet, windowing: Windowing, cache: FeatureCache | None,
                 path_map: PathMap | None = None) -> None:
        self.feature_set = feature_set
        self.windowing = windowing
        self.cache = cache
        self.n_columns = len(feature_set.columns)
        self.path_map = path_map  # where a Dask worker sees the files (None: the same paths)

    def features(self, path: str) -> np.ndarray:
        """Decode as a stream, window and extract a batch at a time: ``(n_windows, 2 + n_columns)`` float64.

        Memory stays bounded by a batch of windows, however long the file.
        """
        sr = self.feature_set.sample_rate
        windows = stream_windows(stream_audio(path, sr), sr, self.windowing, path)
        rows: list[np.ndarray] = []
        for batch in self.feature_set.extract_stream(windows, sr):
            feats = batch.features
            if feats.shape != (len(batch.starts), self.n_columns):
                raise ValueError(
                    f"feature set {self.feature_set.name!r} returned shape {feats.shape}, "
                    f"expected {(len(batch.starts), self.n_columns)}"
                )
            if not np.isfinite(feats).all():
                bad_rows = np.flatnonzero(~np.isfinite(feats).all(axis=1))
                bad_cols = [self.feature_set.column_names[c] for c in np.flatnonzero(~np.isfinite(feats).all(axis=0))]
                raise NonFiniteFeaturesError(
                    f"{path}: NaN or infinite features in {len(bad_rows)} window(s) "
                    f"(first at {batch.starts[bad_rows[0]]:.2f} s; columns {', '.join(bad_cols[:5])})"
                )
            rows.append(np.column_stack([batch.starts, batch.starts + batch.lengths, feats]))
        return np.concatenate(rows)

    def run(self, path: str, known_digest: str | None = None) -> _Outcome:
        """Hash (unless known), look up the cache, else compute and cache; never raises ``Exception``."""
        digest: str | None = known_digest
        stat: FileSignature | None = None
        seen_as = worker_path(path, self.path_map)
        try:
            if not os.path.isfile(seen_as):  # a FIFO or device would block the hash: say what it is instead
                probe(seen_as)
                raise AudioNotFoundError(seen_as)
            if digest is None:
                before = FileSignature.of(seen_as)
                digest = file_hash(seen_as)
                if before.matches_stat(os.stat(seen_as)):  # any write meanwhile changes at least the ctime
                    stat = before
            if self.cache is not None and digest is not None:
                hit = self.cache.get(digest)
                if hit is not None:
                    return _Outcome(path, "cached", digest, stat, hit)
            arr = self.features(seen_as)
            if self.cache is not None and digest is not None:
                self.cache.put(digest, arr)
            return _Outcome(path, "computed", digest, stat, arr)
        except Exception as error:  # a batch keeps going: every failure is reported per file
            if isinstance(error, GenrekitError):
                error = where_it_failed(error, path, seen_as)
            message = str(error) or type(error).__name__
            return _Outcome(path, "failed", digest, stat, failure=Failure(path, type(error).__name__, message))


_WORKER_JOB: _Job | None = None


def _init_worker(job: _Job) -> None:
    global _WORKER_JOB
    job.feature_set.set_threads(1)  # a network inside the set: one core per worker, as the workers share them
    _WORKER_JOB = job


def _run_in_worker(task: "_Task") -> _Outcome:
    assert _WORKER_JOB is not None, "worker not initialised"
    return _WORKER_JOB.run(*task)


def _worker_crashed(task: "_Task") -> _Outcome:
    path, digest = task
    reason = ("the worker process died while processing this file (a crash in a decoder or feature library, "
              "or out of memory)")
    return _Outcome(path, "failed", digest, failure=Failure(path, "WorkerCrashed", reason))


# --------------------------------------------------------------------------- the table


def compute_features(
    records: Sequence[Record],
    feature_set: FeatureSet,
    windowing: Windowing | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    jobs: int = 1,
    progress: Callable[[Progress], None] | None = None,
    mp_context: Any = None,
    client: "Client | None" = None,
    path_map: PathMap | None = None,
) -> FeatureTableResult:
    """Feature rows for every window of every record.

    Parameters
    ----------
    records : the files, with the label/split/group each row inherits.
    feature_set : turns each window into ``len(feature_set.columns)`` numbers.
    windowing : how files are cut; default one window per file.
    cache_dir : cache root (default :func:`default_cache_dir`); ``use_cache=False``
        neither reads nor writes it.
    jobs : worker processes; 1 computes in this process. Workers are started
        with ``mp_context`` (default ``spawn``, safe with threaded libraries), so
        ``feature_set`` must be picklable and importable by module name.
    progress : called after each file with a :class:`Progress`.
    client : a Dask ``distributed.Client``: compute on its workers instead of
        ``jobs`` processes (:func:`genrekit.distributed.map_on_dask`); this
        process still does all the writing (cache index, table), so the
        resume and failure rules are the same.
    path_map : where the Dask workers see these files.

    Returns
    -------
    FeatureTableResult: rows in the order of ``records`` (windows in time
    order), the failures, and how many files were computed or cached.
    """
    windowing = windowing or Windowing()
    if jobs < 1:
        raise ValueError("jobs must be >= 1")
    clash = set(META_COLUMNS) & set(feature_set.column_names)
    if clash:
        raise ValueError(f"feature columns {sorted(clash)} clash with the table's own columns")
    key = config_key(feature_set, windowing)
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    cache = FeatureCache(root, key, len(feature_set.columns)) if use_cache else None
    index = HashIndex(root / "file-index.sqlite3" if use_cache else None)
    job = _Job(feature_set, windowing, cache, path_map)

    outcomes: dict[str, _Outcome] = {}
    counts = {"computed": 0, "cached": 0, "failed": 0}
    unique_paths = list(dict.fromkeys(r.path for r in records))

    def finish(outcome: _Outcome) -> None:
        outcomes[outcome.path] = outcome
        counts[outcome.status] += 1
        if outcome.digest is not None and outcome.stat is not None:
            index.put(outcome.path, outcome.stat, outcome.digest)
        if progress is not None:
            progress(
                Progress(
                    done=len(outcomes),
                    total=len(unique_paths),
                    computed=counts["computed"],
                    cached=counts["cached"],
                    failed=counts["failed"],
                    path=outcome.path,
                    status=outcome.status,
                )
            )

    try:
        todo: list[tuple[str, str | None]] = []
        for path in unique_paths:
            digest = None
            if cache is not None:
                digest = index.lookup(path)
                if digest is not None:
                    hit = cache.get(digest)
                    if hit is not None:
                        finish(_Outcome(path, "cached", digest, None, hit))
                        continue
            todo.append((path, digest))

        if client is not None:
            from genrekit.distributed import map_on_dask

            outcomes_in_order = map_on_dask(_run_in_worker, todo, client, on_crash=_worker_crashed,
                                            initializer=_init_worker, initargs=(job,))
        elif jobs == 1 or len(todo) <= 1:
            outcomes_in_order = ((task, job.run(*task)) for task in todo)
        else:
            # map_in_workers: the workers die with this process and do not hold its stdout
            # (``genrekit features -j 2 | cat``); one that crashes costs its own file only
            outcomes_in_order = map_in_workers(_run_in_worker, todo, jobs, on_crash=_worker_crashed,
                                               initializer=_init_worker, initargs=(job,), mp_context=mp_context)
        for _, outcome in outcomes_in_order:
            finish(outcome)
    finally:
        index.close()

    table = _build_table(records, outcomes, feature_set)
    metadata = table_metadata(feature_set, windowing)
    table = table.replace_schema_metadata({METADATA_KEY: json.dumps(metadata).encode()})
    failures = [f for f in (outcomes[p].failure for p in unique_paths) if f is not None]
    return FeatureTableResult(
        table=table,
        failures=failures,
        computed=counts["computed"],
        cached=counts["cached"],
        metadata=metadata,
    )


_Task = tuple[str, "str | None"]


def table_metadata(feature_set: FeatureSet, windowing: Windowing) -> dict[str, Any]:
    """What a table's schema metadata records (JSON under the ``genrekit`` key)."""
    return {
        "genrekit_version": __version__,
        **table_config(feature_set, windowing),
        "config_key": config_key(feature_set, windowing),
        "meta_columns": list(META_COLUMNS),
        "feature_columns": [{"name": c.name, "description": c.description} for c in feature_set.columns],
    }


def _build_table(records: Sequence[Record], outcomes: dict[str, _Outcome], feature_set: FeatureSet) -> pa.Table:
    names = feature_set.column_names
    paths: list[str] = []
    labels: list[str | None] = []
    splits: list[str | None] = []
    groups: list[str] = []
    hashes: list[str | None] = []
    blocks: list[np.ndarray] = []
    seen: set[str] = set()
    for r in records:
        if r.path in seen:
            continue
        seen.add(r.path)
        outcome = outcomes.get(r.path)
        if outcome is None or outcome.array is None:
            continue
        n = outcome.array.shape[0]
        paths += [r.path] * n
        labels += [r.label] * n
        splits += [r.split] * n
        groups += [r.group] * n
        hashes += [outcome.digest] * n
        blocks.append(outcome.array)
    data = np.concatenate(blocks) if blocks else np.zeros((0, 2 + len(names)))
    arrays: list[pa.Array] = [
        pa.array([path_text(p) for p in paths], pa.string()),  # Parquet holds UTF-8 only: see fileio.path_text
        pa.array([None if x is None else path_text(x) for x in labels], pa.string()),
        pa.array(splits, pa.string()),
        pa.array([path_text(g) for g in groups], pa.string()),
        pa.array(data[:, 0], pa.float64()),
        pa.array(data[:, 1], pa.float64()),
        pa.array(hashes, pa.string()),
    ]
    feats = data[:, 2:].astype(np.float32)
    arrays += [pa.array(feats[:, i], pa.float32()) for i in range(len(names))]
    return pa.Table.from_arrays(arrays, names=[*META_COLUMNS, *names])


# --------------------------------------------------------------------------- files


def failures_path(out: str | os.PathLike[str]) -> Path:
    """``features.parquet`` -> ``features.failures.parquet`` (beside it)."""
    out = Path(out)
    stem = out.name[: -len(".parquet")] if out.name.endswith(".parquet") else out.name
    return out.with_name(f"{stem}.failures.parquet")


def _write_parquet(table: pa.Table, target: Path) -> None:
    import pyarrow.parquet as pq

    _atomic_write(target, lambda f: pq.write_table(table, f))


def write_table(result: FeatureTableResult, out: str | os.PathLike[str]) -> Path:
    """Write the table to ``out`` (Parquet) and its failures beside it; returns ``out``.

    A failures file left by an earlier run is removed when there are none now.
    """
    out = Path(out)
    _write_parquet(result.table, out)
    side = failures_path(out)
    if result.failures:
        fail = pa.table(
            {
                "path": pa.array([path_text(f.path) for f in result.failures], pa.string()),
                "error": pa.array([f.error for f in result.failures], pa.string()),
                "message": pa.array([path_text(f.message) for f in result.failures], pa.string()),
            }
        )
        _write_parquet(fail, side)
    elif side.exists():
        side.unlink()
    return out


def build_feature_table(
    records: Sequence[Record],
    feature_set: FeatureSet,
    out: str | os.PathLike[str],
    windowing: Windowing | None = None,
    **kwargs: Any,
) -> FeatureTableResult:
    """:func:`compute_features` then :func:`write_table`."""
    result = compute_features(records, feature_set, windowing, **kwargs)
    write_table(result, out)
    return result


def read_failures(out: str | os.PathLike[str]) -> list[Failure]:
    """The failures recorded beside a table (empty when there were none)."""
    import pyarrow.parquet as pq

    side = failures_path(out)
    if not side.exists():
        return []
    t = pq.read_table(side)
    return [Failure(**row) for row in t.to_pylist()]


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The genrekit metadata of a feature table (feature set config, windowing, version, columns)."""
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except FileNotFoundError:
        raise FeatureTableError(f"{path}: no such feature table") from None
    except (OSError, pa.ArrowException) as error:
        raise FeatureTableError(f"{path}: not a readable Parquet file ({error})") from None
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise FeatureTableError(f"{path}: not a genrekit feature table (no genrekit metadata)")
    return json.loads(raw)


def read_table(path: str | os.PathLike[str], *, split: str | None = None) -> FeatureMatrix:
    """Read a feature table written by :func:`write_table` as a :class:`FeatureMatrix`.

    ``split`` keeps only the rows of that split.
    """
    import pyarrow.parquet as pq

    metadata = read_metadata(path)
    return matrix_from_table(pq.read_table(path), metadata, split=split, source=str(path))


def matrix_from_table(
    table: pa.Table, metadata: dict[str, Any], *, split: str | None = None, source: str = "<table>"
) -> FeatureMatrix:
    """A feature table (in memory) as a :class:`FeatureMatrix`; ``split`` keeps only that split's rows."""
    import pyarrow.compute as pc

    columns = [c["name"] for c in metadata["feature_columns"]]
    present = set(table.column_names)  # one set: wide tables (CNN inputs) have 10,000+ columns
    missing = [c for c in [*META_COLUMNS, *columns] if c not in present]
    if missing:
        raise FeatureTableError(f"{source}: columns missing from the table: {', '.join(missing[:5])}")
    if split is not None:
        from genrekit.datasets import normalise_split

        table = table.filter(pc.equal(table["split"], normalise_split(split)))
    X = np.empty((table.num_rows, len(columns)), dtype=np.float32)
    for i, column in enumerate(table.select(columns).columns):
        X[:, i] = column.to_numpy()

    def obj(name: str) -> np.ndarray:
        return np.array(table[name].to_pylist(), dtype=object)

    return FeatureMatrix(
        X=X,
        columns=columns,
        paths=obj("path"),
        labels=obj("label"),
        splits=obj("split"),
        groups=obj("group"),
        starts=table["start"].to_numpy(),
        ends=table["end"].to_numpy(),
        metadata=metadata,
    )
