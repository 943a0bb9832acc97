"""The HTTP edge shared by every domain: transactions, viewer, CSRF, rate limits, errors."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bridgenote.core import i18n
from bridgenote.core.auth import ANONYMOUS, Viewer
from bridgenote.core.cache import TTLCache
from bridgenote.core.db import on_commit
from bridgenote.core.errors import AppError, Forbidden, PayloadTooLarge, Unauthorized
from bridgenote.core.ratelimit import enforce
from bridgenote.core.runtime import Runtime
from bridgenote.core.security import constant_time_equals, token_digest

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_COOKIE = "bn_session"
CSRF_COOKIE = "bn_csrf"
CSRF_HEADER = "x-csrf-token"

Authenticator = Callable[[AsyncSession, str, str], Awaitable[Viewer | None]]


# Room for the multipart framing and form fields around the largest file an upload may carry.
BODY_SLACK = 1024 * 1024


class _BodyLimit:
    """No request body may be larger than the largest upload (``max(MAX_UPLOAD_BYTES,
    MAX_VIDEO_BYTES)``) plus :data:`BODY_SLACK`. A declared ``Content-Length`` over it is
    refused before anything is read; a body without one (chunked) is refused as soon as
    it grows past it, while it streams: nothing is spooled to disk beyond the limit."""

    def __init__(self, request: Request, settings: Any) -> None:
        self.limit = max(settings.max_upload_bytes, settings.max_video_bytes) + BODY_SLACK
        self.exceeded = False
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.limit:
            raise self.error()
        receive, received = request._receive, 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    self.exceeded = True
                    raise self.error()
            return message

        request._receive = limited

    def error(self) -> PayloadTooLarge:
        return PayloadTooLarge("That upload is larger than {limit} MB.", limit=(self.limit - BODY_SLACK) // 2**20)


class TransactionalRoute(APIRoute):
    """One request is one transaction: commit after the endpoint returns (before the
    response leaves), roll back if it raises, then run after-commit hooks. Request bodies
    are bounded (:class:`_BodyLimit`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def transactional(request: Request) -> Response:
            runtime: Runtime = request.app.state.runtime
            body = _BodyLimit(request, runtime.settings)
            try:
                async with runtime.db.transaction(write=request.method not in SAFE_METHODS) as session:
                    request.state.session = session
                    return await handler(request)
            except StarletteHTTPException as exc:
                # FastAPI reports any failure while it parses a body as "400 cannot parse".
                if body.exceeded:
                    raise body.error() from exc
                raise

        return transactional


# Plain-value dependencies are ``async def`` on purpose: FastAPI runs a sync
# dependency in a worker thread, a hop that costs more than the work.
async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def request_session(request: Request) -> AsyncSession:
    session: AsyncSession | None = getattr(request.state, "session", None)
    if session is None:
        raise RuntimeError("route is not a TransactionalRoute")
    return session


async def get_session(request: Request) -> AsyncSession:
    return request_session(request)


def _credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "api", token.strip()
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return "session", cookie
    return None


async def get_viewer(request: Request, session: Annotated[AsyncSession, Depends(get_session)]) -> Viewer:
    cached: Viewer | None = getattr(request.state, "viewer", None)
    if cached is not None:
        return cached
    viewer = ANONYMOUS
    credentials = _credentials(request)
    if credentials is not None:
        found = await _authenticate(request, session, credentials)
        if found is None and credentials[0] == "api":
            raise Unauthorized("That access token is not valid.", code="invalid_token")
        if found is not None:
            viewer = found
            i18n.set_language(viewer.ui_language)
            if viewer.auth_kind == "session" and request.method not in SAFE_METHODS:
                _check_csrf(request, viewer)
    request.state.viewer = viewer
    return viewer


VIEWER_CACHE = "auth.viewers"
VIEWER_TTL = 5.0


def _viewer_cache(request: Request) -> TTLCache:
    # Viewers hold no counters, so the view-count flush leaves them cached.
    runtime: Runtime = request.app.state.runtime
    return runtime.cache(VIEWER_CACHE, ttl=VIEWER_TTL, max_entries=50_000, holds_counters=False)


async def _authenticate(request: Request, session: AsyncSession, credentials: tuple[str, str]) -> Viewer | None:
    """Resolve credentials. Reads may reuse a resolution up to ``VIEWER_TTL`` seconds old (every
    feed request would otherwise pay a query); writes always check afresh, so a revoked token
    or a suspended account can never change anything."""
    authenticate: Authenticator = request.app.state.authenticate
    if request.method not in SAFE_METHODS:
        return await authenticate(session, *credentials)
    cache = _viewer_cache(request)
    key = (credentials[0], token_digest(credentials[1]))
    found: Viewer | None = cache.get(key)
    if found is None:
        found = await authenticate(session, *credentials)
        if found is not None:
            cache.set(key, found)
    return found


def forget_viewers(request: Request) -> None:
    """After this request commits, drop cached viewers in this process (logout, revocation,
    profile changes); other processes catch up within ``VIEWER_TTL``."""
    cache = _viewer_cache(request)

    async def clear() -> None:
        cache.clear()

    on_commit(request_session(request), clear)


def _check_csrf(request: Request, viewer: Viewer) -> None:
    """Cookie-authenticated writes must echo the session's CSRF token (header or form field)."""
    sent = request.headers.get(CSRF_HEADER) or getattr(request.state, "csrf_form_token", None)
    if not sent or not viewer.csrf_token or not constant_time_equals(sent, viewer.csrf_token):
        raise Forbidden(
            "The security token of this form is missing or out of date. Reload the page and try again.",
            code="csrf_failed",
        )


async def require_user(viewer: Annotated[Viewer, Depends(get_viewer)]) -> Viewer:
    if not viewer.is_authenticated:
        raise Unauthorized()
    if viewer.state == "suspended":
        raise Forbidden("Your account is suspended.", code="account_suspended")
    return viewer


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def rate_limit(name: str, *, per: str = "user") -> Callable[..., Awaitable[None]]:
    """Dependency enforcing ``settings.ratelimit_<name>`` per user (anonymous callers per IP),
    or per IP for anonymous actions such as sign-up and login (``per="ip"``)."""

    async def check(runtime: Runtime, key: str) -> None:
        if runtime.settings.ratelimit_enabled:
            rule = getattr(runtime.settings, f"ratelimit_{name}")
            await enforce(runtime.limiter, f"{name}:{key}", limit=rule.limit, window=rule.window)

    async def per_ip(request: Request, runtime: Annotated[Runtime, Depends(get_runtime)]) -> None:
        await check(runtime, f"ip:{client_ip(request)}")

    # Route-level dependencies run before the endpoint's own, so the viewer must be
    # resolved here rather than read from request.state (it would not be there yet).
    async def per_user(
        request: Request,
        runtime: Annotated[Runtime, Depends(get_runtime)],
        viewer: Annotated[Viewer, Depends(get_viewer)],
    ) -> None:
        await check(runtime, f"u:{viewer.id}" if viewer.id is not None else f"ip:{client_ip(request)}")

    return per_ip if per == "ip" else per_user


SessionDep = Annotated[AsyncSession, Depends(get_session)]
ViewerDep = Annotated[Viewer, Depends(get_viewer)]
UserDep = Annotated[Viewer, Depends(require_user)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


class LanguageMiddleware:
    """Sets the UI language for the request: ``?lang=`` wins, then the ``bn_lang``
    cookie, then ``Accept-Language``. An authenticated viewer's own setting
    overrides all of them in :func:`get_viewer`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = dict(scope.get("headers") or [])
            accept = headers.get(b"accept-language", b"").decode("latin-1")
            language = i18n.negotiate(accept)
            cookie = headers.get(b"cookie", b"").decode("latin-1")
            for part in cookie.split(";"):
                name, _sep, value = part.strip().partition("=")
                if name == "bn_lang" and value in i18n.UI_LANGUAGES:
                    language = value
            for value in parse_qs(scope.get("query_string", b"").decode("latin-1")).get("lang", ()):
                if value in i18n.UI_LANGUAGES:
                    language = value
            i18n.set_language(language)
        await self.app(scope, receive, send)


def error_json(
    status: int, code: str, message: str, *, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for error in exc.errors():
        loc = list(error.get("loc", ()))
        # FastAPI prefixes body fields with "body"; drop only that prefix (a field may be called "body").
        location = [str(part) for part in (loc[1:] if loc[:1] == ["body"] else loc)]
        details.append({"field": ".".join(location), "message": str(error.get("msg", "")), "type": error.get("type")})
    return details


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(_request: Request, exc: AppError) -> Response:
        message = i18n.gettext(exc.message, **exc.params)
        return error_json(exc.status_code, exc.code, message, headers=exc.headers or None)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> Response:
        details = _field_errors(exc)
        if any(d["type"] == "json_invalid" for d in details):
            return error_json(400, "malformed_json", i18n.gettext("The request body is not valid JSON."))
        return error_json(422, "validation_error", i18n.gettext("Some fields are not valid."), details=details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_json(404, "not_found", i18n.gettext("We could not find that."))
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            return error_json(
                405, "method_not_allowed", i18n.gettext("That method is not allowed here."), headers=headers
            )
        if exc.status_code == 400:
            # Starlette's body parsing failures (undecodable JSON, broken multipart) land here.
            return error_json(400, "malformed_body", i18n.gettext("The request body could not be read."))
        return error_json(exc.status_code, "http_error", str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return error_json(500, "internal_error", i18n.gettext("Something went wrong on our side. Please try again."))
