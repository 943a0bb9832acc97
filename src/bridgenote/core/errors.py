"""The ``AppError`` family: expected failures that carry their HTTP status.

Messages are gettext message ids (English source text) with ``{name}``
placeholders; they are translated into the viewer's language when rendered.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status_code = 400
    code = "bad_request"
    message = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> None:
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.headers = headers or {}
        self.params = params
        super().__init__(self.message)


class BadRequest(AppError):
    status_code = 400
    code = "bad_request"


class ValidationFailed(AppError):
    status_code = 422
    code = "validation_error"
    message = "Some fields are not valid."


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"
    message = "You need to log in first."


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"
    message = "You are not allowed to do that."


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    message = "We could not find that."


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    message = "That conflicts with something that already exists."


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"
    message = "That upload is too large."


class UnsupportedMedia(AppError):
    status_code = 415
    code = "unsupported_media_type"
    message = "That file type is not supported."


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"
    message = "Too many requests. Please try again in {retry_after} seconds."

    def __init__(self, retry_after: int) -> None:
        super().__init__(headers={"Retry-After": str(retry_after)}, retry_after=retry_after)
        self.retry_after = retry_after


class ServiceUnavailable(AppError):
    status_code = 503
    code = "unavailable"
    message = "This is temporarily unavailable. Please try again shortly."
