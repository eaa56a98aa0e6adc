"""``create_app``: the FastAPI app behind ``genrekit serve``, its models loaded once, at start.

Everything the server needs is built here from the arguments and handed to
the routes (:func:`genrekit.serve.api.api_router`); nothing is read from
globals, so tests build as many differently configured apps as they like.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any, AsyncIterator

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from genrekit import __version__
from genrekit.errors import ConfigError
from genrekit.serve.api import MODEL_UPLOAD_PATH, QUEUED_PATHS, api_router
from genrekit.serve.benchmark import BenchmarkRunner
from genrekit.serve.errors import ApiError, install_error_handlers
from genrekit.serve.metrics import Metrics, MetricsMiddleware
from genrekit.serve.shelf import build_shelf
from genrekit.serve.state import ServeState
from genrekit.serve.uploads import UploadGate, body_limit
from genrekit.serve.work import WorkQueue

STATIC_DIR = Path(__file__).parent / "static"
DEFAULT_TIMEOUT_S = 300.0
"""Longest a request may wait and be analysed: 600 s of audio analyses in well under this on one core."""


def _check_settings(max_upload_mb: float, max_duration_s: float, workers: int, queue: int, timeout_s: float,
                    allow_model_upload: bool, token: str | None) -> None:
    def positive(value: float) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0

    if not positive(max_upload_mb):
        raise ConfigError(f"max_upload_mb must be a number of megabytes > 0, got {max_upload_mb!r}")
    if not positive(max_duration_s):
        raise ConfigError(f"max_duration_s must be a number of seconds > 0, got {max_duration_s!r}")
    if not positive(timeout_s):
        raise ConfigError(f"timeout_s must be a number of seconds > 0, got {timeout_s!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be a whole number >= 1, got {workers!r}")
    if isinstance(queue, bool) or not isinstance(queue, int) or queue < 0:
        raise ConfigError(f"queue must be a whole number >= 0, got {queue!r}")
    if allow_model_upload and not token:
        raise ConfigError("allow_model_upload needs a token (--token T): uploads are never open to anyone")


def create_app(*, models: list[str | Path] | None = None, models_dir: str | Path | None = None,
               max_upload_mb: float = 50, max_duration_s: float = 600, workers: int = 1, queue: int = 8,
               allow_model_upload: bool = False, token: str | None = None, benchmark: str | Path | None = None,
               timeout_s: float = DEFAULT_TIMEOUT_S) -> FastAPI:
    """The app: the shelf loaded (``models``, else the bundled model as ``"default"``; then ``models_dir``).

    Raises :class:`~genrekit.errors.ModelFileError` for a model file that
    does not load and :class:`ConfigError` for a bad setting, before
    anything is served. Uploaded models go to ``models_dir`` when given, else
    to a temporary folder removed at shutdown.
    """
    _check_settings(max_upload_mb, max_duration_s, workers, queue, timeout_s, allow_model_upload, token)
    scratch = None if models_dir is not None else tempfile.mkdtemp(prefix="genrekit-models-")
    try:
        shelf = build_shelf(models, models_dir, Path(models_dir) if models_dir is not None else Path(scratch))
    except BaseException:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        raise
    state = ServeState(shelf=shelf, work=WorkQueue(workers, queue, timeout_s), benchmark=BenchmarkRunner(benchmark),
                       metrics=Metrics(), max_upload_bytes=int(max_upload_mb * 1024**2),
                       max_duration_s=float(max_duration_s), allow_model_upload=allow_model_upload, token=token)
    for entry in shelf.entries():
        state.benchmark.submit(entry.id, entry.path)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        state.work.close()
        state.benchmark.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)

    app = FastAPI(title="genrekit", version=__version__, lifespan=lifespan,
                  description="Name the genre of a recording, see what the model heard, compare models. "
                              "Errors are JSON: {\"error\": code, \"message\": text}.")
    app.state.genrekit = state
    install_error_handlers(app, state.metrics.count_error)
    upload_body = body_limit(state.max_upload_bytes)
    app.add_middleware(UploadGate, limits={path: upload_body for path in (*QUEUED_PATHS, MODEL_UPLOAD_PATH)},
                       queued=QUEUED_PATHS, full=lambda: state.work.full, on_refusal=state.metrics.count_error)
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)  # added last: outermost, so it sees every answer
    app.include_router(api_router(state))
    _add_pages(app)
    return app


def _add_pages(app: FastAPI) -> None:
    """``/`` and ``/models`` (the page engineer's HTML) and ``/static/*``."""

    def page(name: str) -> Any:
        async def serve_page() -> FileResponse:
            path = STATIC_DIR / name
            if not path.is_file():
                raise ApiError(404, "not_found", f"the page {name} is not installed")
            return FileResponse(path, media_type="text/html; charset=utf-8")

        return serve_page

    app.add_api_route("/", page("index.html"), methods=["GET"], include_in_schema=False)
    app.add_api_route("/models", page("models.html"), methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
