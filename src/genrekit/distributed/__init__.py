"""genrekit's per-file work on a Dask cluster, with the contract of :func:`genrekit.processes.map_in_workers`.

:func:`map_on_dask` is the cluster twin of ``map_in_workers``: the same
``fn``, ``initializer`` and ``on_crash``, the same ``(item, result)`` pairs in
input order. So ``genrekit predict``, ``features`` and ``scan`` keep one code
path for their results, and the client (this process) stays the only writer
of every table and database: workers compute, the client writes, and the
resume and failure rules are those of a local run.

How the work is cut and where Dask does the scheduling:

* Items go out in **batches** (a few files each, so the scheduler's cost per
  task is spread over several files) through ``Client.submit``; results come
  back with ``as_completed`` and wait here only until those before them are in.
* Each worker runs ``initializer(*initargs)`` **once** (a
  :class:`distributed.WorkerPlugin`, which Dask also runs on a worker that
  joins or restarts later), so the model or feature set is loaded once per
  worker process, not once per task.
* A worker that **dies** loses its batch: Dask reports it as ``KilledWorker``
  (a cluster made by :func:`connect` allows no silent re-runs, so this comes at
  the first death). Each file of that batch is then retried once, alone; a
  file that kills its worker again gets ``on_crash(item)`` as its result.
  Nothing already yielded is recomputed or yielded twice.

Workers must see the files: genrekit assumes shared storage (the same paths,
or paths under another prefix, see :class:`PathMap`) and never ships audio
bytes through the scheduler. A file a worker cannot open is reported as that
file's error, with the worker's address (:func:`worker_address`).
"""

from genrekit.distributed.cluster import INSTALL_HINT, connect, missing_on_workers, parse_target
from genrekit.distributed.mapping import MAX_BATCH, map_on_dask
from genrekit.distributed.paths import PathMap, where_it_failed, worker_address, worker_path

__all__ = [
    "INSTALL_HINT",
    "MAX_BATCH",
    "PathMap",
    "connect",
    "map_on_dask",
    "missing_on_workers",
    "parse_target",
    "where_it_failed",
    "worker_address",
    "worker_path",
]
