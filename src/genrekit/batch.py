"""Classify many files, in this process or on worker processes, with the same results in the same order.

:func:`classify_files` is what ``genrekit predict`` runs. With ``jobs=1`` it
is :meth:`GenreClassifier.predict_many` with a choice of onnxruntime threads;
with more, each of ``jobs`` worker processes (:func:`genrekit.processes.worker_pool`:
they die with this process) holds one copy of the model and classifies one
file at a time on one intra-op thread, and results come back in input order,
so the output does not depend on ``jobs``. A worker that dies on a file (a
crash in a decoder, the OOM killer) costs that file only: it is reported as
a :class:`WorkerDiedError` and the rest go on.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
from typing import TYPE_CHECKING, Any, Generator, Iterable, TypeVar

from genrekit.distributed.paths import PathMap, where_it_failed, worker_path
from genrekit.errors import ConfigError, GenrekitError, InputFailedError, as_input_error
from genrekit.predict import GenreClassifier, Prediction, load_model
from genrekit.processes import map_in_workers

if TYPE_CHECKING:
    from distributed import Client

P = TypeVar("P", bound="str | os.PathLike[str]")

MAX_DEFAULT_THREADS = 4
"""Cap on the default intra-op threads of a model run in this process (see :func:`default_threads`)."""


class WorkerDiedError(InputFailedError):
    """The worker process classifying a file died, twice (once alongside other files, once alone)."""

    reason = "the worker process died while classifying this file"


def default_threads() -> int:
    """onnxruntime intra-op threads for a model run in this process: the CPUs this process may use, at most 4.

    One file's windows go through the model in batches of a few dozen rows;
    splitting such a batch beyond about four threads gains little, and each
    extra thread competes with decoding and feature extraction, which run on
    the calling thread.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_DEFAULT_THREADS, cpus))


def classify_files(
    paths: Iterable[P],
    model: str | os.PathLike[str] | GenreClassifier | None = None,
    *,
    jobs: int = 1,
    threads: int | None = None,
    client: "Client | None" = None,
    path_map: PathMap | None = None,
    **predict_options: Any,
) -> Generator[tuple[P, Prediction | GenrekitError], None, None]:
    """``(path, Prediction or the error that file gave)`` for each of ``paths``, in their order.

    Parameters
    ----------
    paths : audio files; each is classified by ``GenreClassifier.predict(path, **predict_options)``.
    model : a ``.genre`` file (default: the bundled model) or a loaded :class:`GenreClassifier`.
        It is loaded here, before this function returns, so a bad model file
        raises :class:`~genrekit.errors.ModelFileError` at once.
    jobs : worker processes. ``1`` (or a single file) classifies in this
        process; more start ``min(jobs, len(paths))`` spawned workers, each
        loading the model once.
    threads : onnxruntime intra-op threads of each copy of the model;
        default :func:`default_threads` in this process and 1 per worker (the
        workers already use the CPUs). A ``GenreClassifier`` passed in is used
        as it is in this process (its own threads); workers get copies.
    client : a Dask ``distributed.Client``: classify on its workers instead
        (:func:`genrekit.distributed.map_on_dask`; ``jobs`` is then unused),
        each worker loading the model once, results still in input order.
    path_map : where the Dask workers see these files (shared storage under
        another prefix); results keep the paths given here.

    A file that fails yields its error, typed as :meth:`predict_many` types it,
    and the rest go on; a file whose worker process dies yields a
    :class:`WorkerDiedError`. Results and errors are the same whatever ``jobs`` is.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"jobs must be a whole number >= 1, got {jobs!r}")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 0):
        raise ConfigError(f"threads must be a whole number >= 0 (0: onnxruntime's default), got {threads!r}")
    files = list(paths)
    given = isinstance(model, GenreClassifier)
    classifier = model if isinstance(model, GenreClassifier) else load_model(model)
    worker_args = (classifier, 1 if threads is None else threads, predict_options, path_map)
    if client is not None:
        from genrekit.distributed import map_on_dask

        return map_on_dask(_classify_in_worker, files, client, on_crash=_worker_died,
                           initializer=_init_worker, initargs=worker_args)
    workers = min(jobs, len(files))
    if workers <= 1:
        if not given:  # the session does not exist yet: it is created with these threads on first use
            classifier.set_threads(default_threads() if threads is None else threads)
        return _in_process(classifier, files, predict_options)
    return map_in_workers(
        _classify_in_worker,
        files,
        workers,
        on_crash=_worker_died,
        initializer=_init_worker,
        initargs=worker_args,
    )


def _in_process(classifier: GenreClassifier, files: list[P],
                options: dict[str, Any]) -> Generator[tuple[P, Prediction | GenrekitError], None, None]:
    """Classify ``files`` one by one in this process, BLAS single-threaded while each file is classified.

    onnxruntime's threads are the ones that should use the cores; OpenBLAS's
    would spin after each small product on the same cores (measured: a fifth
    of the time of a folder; docs/results.md, "Speed"). The limit is scoped
    to each file, so the caller's own BLAS is untouched between results.
    """
    from threadpoolctl import threadpool_limits

    for path in files:
        try:
            with threadpool_limits(1, user_api="blas"):
                result: Prediction | GenrekitError = classifier.predict(path, **options)
        except Exception as error:  # the file boundary, as in predict_many
            result = as_input_error(path, error)
        yield path, result


def _worker_died(path: str | os.PathLike[str]) -> WorkerDiedError:
    return WorkerDiedError(path, "a crash in a decoder or numerical library, or out of memory")


_worker: dict[str, Any] = {}
"""In a worker process: the classifier and the options of :meth:`GenreClassifier.predict`."""


def _init_worker(classifier: GenreClassifier, threads: int, options: dict[str, Any],
                 path_map: PathMap | None = None) -> None:
    classifier.set_threads(threads)  # an unpickled copy, without sessions yet
    _worker.update(classifier=classifier, options=options, path_map=path_map)


def _classify_in_worker(path: str | os.PathLike[str]) -> Prediction | GenrekitError:
    seen_as = worker_path(path, _worker["path_map"])
    try:
        result: Prediction | GenrekitError = _worker["classifier"].predict(seen_as, **_worker["options"])
    except Exception as error:  # the file boundary, as in predict_many
        result = as_input_error(seen_as, error)
    if isinstance(result, Prediction):
        if seen_as != os.fspath(path):
            result = dataclasses.replace(result, path=os.fspath(path))
    else:
        result = where_it_failed(result, path, seen_as)
    return _portable(result)


def _portable(result: Prediction | GenrekitError) -> Prediction | GenrekitError:
    """``result`` as it will arrive in the parent: an error that does not survive pickling is simplified.

    A result the parent cannot unpickle would break the whole pool (and be
    reported as a worker crash), so this is checked here, where it can still
    be repaired: first without the wrapped exception (``cause``), then as a
    plain :class:`GenrekitError` with the same message.
    """
    if isinstance(result, Prediction) or _round_trips(result):
        return result
    if isinstance(result, InputFailedError) and result.cause is not None:
        result.cause = None
        if _round_trips(result):
            return result
    return GenrekitError(str(result))


def _round_trips(value: object) -> bool:
    try:
        pickle.loads(pickle.dumps(value))
    except Exception:
        return False
    return True


__all__ = ["WorkerDiedError", "classify_files", "default_threads"]
