"""``--dask`` and ``--dask-path-map``: the options, and the cluster they open, shared by every command that has them."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Annotated, Any, Iterator, Optional, Sequence

import typer

from genrekit.cli.output import error_console, shown, usage_error

if TYPE_CHECKING:
    from genrekit.distributed import PathMap

DaskOption = Annotated[
    Optional[str],
    typer.Option(
        "--dask", metavar="ADDRESS|local[:N]",
        help="Run on a Dask cluster: a scheduler address (tcp://host:8786), or local[:N] for a LocalCluster of N "
        "worker processes here. Workers must see the files (shared storage; see --dask-path-map). Needs "
        "pip install 'genrekit\\[dask]'.",
    ),
]
PathMapOption = Annotated[
    Optional[str],
    typer.Option(
        "--dask-path-map", metavar="CLIENT_PREFIX=WORKER_PREFIX",
        help="Where the Dask workers see the files: paths under CLIENT_PREFIX here are under WORKER_PREFIX there.",
    ),
]

SAMPLE_FILES = 3
"""Files checked on every worker before a run, to catch a missing mount up front."""


@contextlib.contextmanager
def dask_client(target: str | None, path_map: str | None, jobs: int,
                files: Sequence[Any] = ()) -> Iterator[tuple[Any, "PathMap | None"]]:
    """``(client, path map)`` for the run, or ``(None, None)`` without ``--dask``; the cluster closes after.

    A bad target or map, or Dask not installed, is a usage error. Workers that
    cannot see the first few files are named on stderr before the run starts
    (their files will then fail one by one, each saying which worker looked).
    """
    if target is None:
        if path_map is not None:
            raise usage_error("--dask-path-map needs --dask")
        yield None, None
        return
    if jobs != 1:
        raise usage_error("--dask and --jobs are alternatives: the cluster's workers do the work")
    from genrekit.distributed import PathMap, connect, missing_on_workers, worker_path
    from genrekit.errors import GenrekitError

    with contextlib.ExitStack() as stack:
        try:
            mapping = PathMap.parse(path_map) if path_map is not None else None
            client = stack.enter_context(connect(target))
        except GenrekitError as error:
            raise usage_error(str(error)) from None
        sample = [worker_path(f, mapping) for f in list(files)[:SAMPLE_FILES]]
        for address, missing in missing_on_workers(client, sample).items():
            error_console.print(
                f"warning: Dask worker {shown(address)} cannot see {len(missing)} of the first {len(sample)} "
                f"files (e.g. {shown(missing[0])}); is the storage shared, or is --dask-path-map needed?",
                markup=False, highlight=False,
            )
        yield client, mapping
