"""Every failure as JSON ``{"error": code, "message": text}`` with one status per kind of error.

One table maps genrekit's typed errors to HTTP statuses, so a route never
decides a status itself; a catch-all returns 500 ``internal`` without a
stack trace. Messages name the upload by the client's file name, never by
the temporary path it was spooled to.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable

from genrekit.errors import (
    AudioError,
    AudioTooLongError,
    AudioTooShortError,
    ConfigError,
    GenrekitError,
    ModelFileError,
    NonFiniteFeaturesError,
    UnsupportedAudioError,
)

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

log = logging.getLogger("genrekit.serve")

CODES_BY_STATUS = {400: "bad_request", 401: "bad_token", 403: "uploads_disabled", 404: "not_found",
                   405: "method_not_allowed", 413: "too_large", 415: "unsupported", 422: "bad_request",
                   503: "busy", 504: "timeout"}
"""The code of an error that only has a status (Starlette's own 404s, 405s and 413s)."""


class ApiError(Exception):
    """A refusal the API gives as it is: a status, a code from the contract, and a message for people."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


# Most specific first: AudioTooShortError is an AudioError too.
_GENREKIT_STATUS: list[tuple[type[GenrekitError], int, str]] = [
    (UnsupportedAudioError, 415, "unsupported"),
    (AudioTooShortError, 422, "too_short"),
    (AudioTooLongError, 413, "too_large"),
    (AudioError, 422, "corrupt"),  # corrupt, empty, non-finite, InputFailedError (what a library raised)
    (NonFiniteFeaturesError, 422, "corrupt"),
    (ModelFileError, 422, "bad_model"),
    (ConfigError, 422, "bad_request"),
]


def api_error(error: GenrekitError, *, rename: tuple[str, str] | None = None) -> ApiError:
    """``error`` as the :class:`ApiError` the contract gives for it.

    ``rename=(temporary_path, upload_name)`` puts the client's name for the
    file where the message names the spooled copy.
    """
    message = str(error)
    if rename is not None:
        message = message.replace(rename[0], rename[1])
    for kind, status, code in _GENREKIT_STATUS:
        if isinstance(error, kind):
            return ApiError(status, code, message)
    return ApiError(422, "bad_request", message)


def error_response(status: int, code: str, message: str) -> "JSONResponse":
    from fastapi.responses import JSONResponse

    return JSONResponse({"error": code, "message": message}, status_code=status)


def install_error_handlers(app: "FastAPI", count_error: Callable[[str], None]) -> None:
    """Register the handlers that turn every exception into the contract's JSON; each counts its code."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    def respond(status: int, code: str, message: str) -> "JSONResponse":
        count_error(code)
        return error_response(status, code, message)

    async def on_api_error(request: "Request", error: Exception) -> "JSONResponse":
        assert isinstance(error, ApiError)
        return respond(error.status, error.code, error.message)

    async def on_genrekit_error(request: "Request", error: Exception) -> "JSONResponse":
        assert isinstance(error, GenrekitError)
        refused = api_error(error)
        return respond(refused.status, refused.code, refused.message)

    async def on_http_error(request: "Request", error: Exception) -> "JSONResponse":
        assert isinstance(error, HTTPException)
        code = CODES_BY_STATUS.get(error.status_code, "bad_request")
        detail = error.detail if isinstance(error.detail, str) else "request refused"
        if error.status_code == 413:
            detail = "the upload is larger than this server accepts"
        return respond(error.status_code, code, detail)

    async def on_validation_error(request: "Request", error: Exception) -> "JSONResponse":
        assert isinstance(error, RequestValidationError)
        problems = []
        for item in error.errors():
            where = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
            problems.append(f"{where}: {item.get('msg', 'invalid')}" if where else str(item.get("msg", "invalid")))
        return respond(422, "bad_request", "; ".join(problems) or "the request is not valid")

    async def on_anything_else(request: "Request", error: Exception) -> "JSONResponse":
        log.exception("unexpected error serving %s", request.url.path)
        return respond(500, "internal", "the server failed on this request; it has been logged")

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(GenrekitError, on_genrekit_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_anything_else)
