"""The HTTP API under ``/v1`` plus ``/healthz`` and ``/metrics``: parsing requests and shaping answers only.

The work is done by the modules below: what a route may do is spool an
upload (:mod:`~genrekit.serve.uploads`), queue a job (:mod:`~genrekit.serve.work`)
and describe the shelf. Every refusal is raised as an error and turned into
JSON by :mod:`~genrekit.serve.errors`.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Literal, Optional, TypeVar

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as FormFile

from genrekit.errors import GenrekitError, as_input_error
from genrekit.serve import analysis, explain
from genrekit.serve.errors import ApiError, api_error
from genrekit.serve.schemas import Classification, ErrorBody, Explanation, Health, ModelDetail, ModelList, ModelSummary
from genrekit.serve.state import ServeState
from genrekit.serve.uploads import SpooledUpload, body_limit, spool, spool_file
from genrekit.serve.shelf import token_matches

T = TypeVar("T")

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in {
        404: "No model with that id (not_found)",
        413: "The upload is too large (too_large)",
        415: "Not audio, or a format genrekit cannot decode (unsupported)",
        422: "corrupt, too_short, bad_model or bad_request",
        503: "Every worker busy and the queue full (busy): retry later",
        504: "The analysis ran past the time limit (timeout)",
    }.items()
}

QUEUED_PATHS = ("/v1/classify", "/v1/explain")
"""The routes whose uploads go to the worker queue: refused before their body is read when too large or busy."""
MODEL_UPLOAD_PATH = "/v1/models"

MODEL_UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary", "description": "A .genre model file"}}}}}}}


def api_router(state: ServeState) -> APIRouter:
    """The routes, bound to one server's state (limits become each route's ``max_body_size``)."""
    router = APIRouter()
    upload_body = body_limit(state.max_upload_bytes)

    async def analyse(upload: SpooledUpload, job: Callable[[], T]) -> tuple[T, dict[str, float]]:
        """Run ``job`` on a worker; the upload is deleted once it is over; errors name the upload, not the spool."""

        def guarded() -> T:
            try:
                return job()
            except Exception as error:  # the file boundary: whatever this upload does costs only this request
                raise as_input_error(upload.path, error) from error

        began = time.perf_counter()
        try:
            done = await state.work.run(guarded, cleanup=upload.discard)
        except GenrekitError as error:
            raise api_error(error, rename=(str(upload.path), upload.name)) from None
        timings = {"total_s": round(time.perf_counter() - began, 4), "queue_s": round(done.queue_s, 4),
                   "analysis_s": round(done.analysis_s, 4)}
        return done.value, timings

    @router.get("/healthz", response_model=Health, tags=["server"])
    async def healthz() -> dict[str, Any]:
        """Liveness: the server answers, and how many models it offers."""
        return {"status": "ok", "models": len(state.shelf)}

    @router.get("/metrics", response_class=PlainTextResponse, tags=["server"])
    async def metrics() -> PlainTextResponse:
        """Prometheus text: requests by route and code, latency histogram, queue depth, errors by code."""
        return PlainTextResponse(state.metrics.render(state.gauges()),
                                 media_type="text/plain; version=0.0.4; charset=utf-8")

    @router.get("/v1/models", response_model=ModelList, tags=["models"])
    async def list_models() -> dict[str, Any]:
        """Every model on the shelf: labels, kind, where it came from, its claimed and benchmarked scores."""
        return {"models": [state.summary(entry) for entry in state.shelf.entries()]}

    @router.get("/v1/models/{model_id}", response_model=ModelDetail, responses=ERRORS, tags=["models"])
    async def show_model(model_id: str) -> dict[str, Any]:
        """One model's summary, its whole card, and its validation confusion matrix (when the card has one)."""
        return state.detail(state.shelf.get(model_id))

    @router.post(MODEL_UPLOAD_PATH, response_model=ModelSummary, status_code=201, responses=ERRORS | {
        200: {"model": ModelSummary, "description": "That file is already on the shelf: its summary"},
        401: {"model": ErrorBody, "description": "Missing or wrong bearer token (bad_token)"},
        403: {"model": ErrorBody, "description": "The server was not started with --allow-model-upload"}},
        openapi_extra=MODEL_UPLOAD_BODY, max_body_size=upload_body, tags=["models"])
    async def upload_model(request: Request) -> Any:
        """Add a .genre model (``Authorization: Bearer <token>``), checked as ``--model`` files are, never run.

        The token is checked before the body is read, so an unauthorised
        client cannot make the server spool anything.
        """
        if not state.allow_model_upload or state.token is None:
            raise ApiError(403, "uploads_disabled", "model uploads are off on this server "
                                                     "(start it with --allow-model-upload --token T)")
        if not token_matches(request.headers.get("authorization"), state.token):
            raise ApiError(401, "bad_token", "a model upload needs the header 'Authorization: Bearer <token>'")
        async with request.form(max_files=1, max_fields=8) as form:
            file = form.get("file")
            if not isinstance(file, FormFile):
                raise ApiError(422, "bad_request", "file: the multipart field 'file' (a .genre model) is required")
            upload = await run_in_threadpool(spool_file, file.file, file.filename, state.max_upload_bytes,
                                             what="model")
        try:
            entry, new = await run_in_threadpool(state.shelf.add_upload, upload)
        except GenrekitError as error:
            raise api_error(error, rename=(str(upload.path), upload.name)) from None
        finally:
            upload.discard()
        state.benchmark.submit(entry.id, entry.path)
        return JSONResponse(ModelSummary.model_validate(state.summary(entry)).model_dump(),
                            status_code=201 if new else 200)

    @router.post("/v1/classify", response_model=Classification, responses=ERRORS, max_body_size=upload_body,
                 tags=["audio"])
    async def classify(
        file: UploadFile = File(description="An audio file (WAV, FLAC, MP3, OGG, M4A, ...)"),
        model: Optional[str] = Form(None, description="A model id from /v1/models; default: the default model"),
        coverage: Literal["fast", "full"] = Form("full", description="fast: at most 12 evenly spread windows; "
                                                                     "full: every window (the timeline)"),
    ) -> dict[str, Any]:
        """The genre of a recording, as ``genrekit predict --json`` gives it, from its first ``max_duration_s`` seconds."""
        entry = state.shelf.get(model)
        upload = await spool(file, state.max_upload_bytes)
        (prediction, heard), timings = await analyse(upload, lambda: analysis.classify_upload(
            entry.classifier, upload.path, upload.name, coverage=coverage, max_duration_s=state.max_duration_s))
        return prediction.to_dict() | {"model": entry.id, "timings": timings, "analysed": heard.to_dict()}

    @router.post("/v1/explain", response_model=Explanation, responses=ERRORS, max_body_size=upload_body,
                 tags=["audio"])
    async def explain_audio(file: UploadFile = File(description="An audio file")) -> dict[str, Any]:
        """What the models hear: mel spectrogram, MFCCs, zero-crossing rate and spectral centroid over time."""
        upload = await spool(file, state.max_upload_bytes)
        answer, _ = await analyse(upload, lambda: explain.explain_file(upload.path, max_duration_s=state.max_duration_s))
        return answer

    return router
