"""Wiring of the web app into ``create_app``: static files, security headers on pages,
and errors shown as pages (or htmx toasts) instead of JSON outside ``/api``."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bridgenote.core import i18n
from bridgenote.core.auth import ANONYMOUS, Viewer
from bridgenote.core.errors import AppError, Unauthorized
from bridgenote.web.routing import is_htmx, safe_next
from bridgenote.web.templating import STATIC_DIR, render, static_url

# Pages load nothing from other origins and run no inline script or style. Media comes
# from this origin (LocalStorage under /media); blob: is for previews of files being posted.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
# Swagger UI loads its scripts from a CDN; it keeps FastAPI's defaults.
NO_PAGE_POLICY = ("/api/docs", "/api/docs/oauth2-redirect")
NOT_PAGES = ("/api/", "/media/", "/static/", "/healthz", "/readyz", "/metrics")


class SecurityHeadersMiddleware:
    """Adds the Content-Security-Policy (and friends) to every HTML response, and keeps
    pages (which carry CSRF tokens and personal data) out of shared caches."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "") in NO_PAGE_POLICY:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if content_type.startswith(b"text/html"):
                    present = {k.lower() for k, _v in headers}
                    headers.extend(h for h in PAGE_HEADERS if h[0] not in present)
                    if b"cache-control" not in present:
                        headers.append((b"cache-control", b"private, no-store"))
                    headers.append((b"vary", b"Cookie, Accept-Language"))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class VersionedStaticFiles(StaticFiles):
    """Static files; URLs made by ``static_url`` carry a content hash, so they never change."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def wants_page(request: Request) -> bool:
    """Everything outside the API, media and operations endpoints is a page, unless the
    client asked for JSON only."""
    if request.url.path.startswith(NOT_PAGES) or request.url.path in NO_PAGE_POLICY:
        return False
    accept = request.headers.get("accept", "")
    return not ("application/json" in accept and "text/html" not in accept)


def _viewer(request: Request) -> Viewer:
    viewer = getattr(request.state, "viewer", None)
    return viewer if isinstance(viewer, Viewer) else ANONYMOUS


def _login_redirect(request: Request) -> Response:
    here = request.url.path
    if is_htmx(request):
        current = urlsplit(request.headers.get("hx-current-url", ""))
        here = current.path + (f"?{current.query}" if current.query else "")
    elif request.method != "GET":
        here = request.headers.get("referer", "/")
        parts = urlsplit(here)
        here = parts.path + (f"?{parts.query}" if parts.query else "")
    else:
        here += f"?{request.url.query}" if request.url.query else ""
    target = "/login?next=" + quote(safe_next(here), safe="/")
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


async def error_page(request: Request, *, status_code: int, message: str) -> Response:
    viewer = _viewer(request)
    if is_htmx(request):
        return await render(request, "_toast.html", {"message": message}, viewer=viewer, status_code=status_code)
    return await render(
        request, "error.html", {"message": message, "status": status_code}, viewer=viewer, status_code=status_code
    )


async def _delegate(handler: Callable[[Request, Exception], Any], request: Request, exc: Exception) -> Response:
    """Call the JSON handler that core installed (sync or async)."""
    result = handler(request, exc)
    if inspect.isawaitable(result):
        result = await result
    return cast(Response, result)


def install(app: FastAPI, routers: list[object]) -> None:
    """Mount the pages: call after ``install_error_handlers`` (it wraps the JSON handlers)."""
    app.mount("/static", VersionedStaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(SecurityHeadersMiddleware)

    async def favicon() -> Response:
        # Pages name their icon; this is for what asks the old fixed path (feed readers, tabs of JSON).
        return RedirectResponse(static_url("icon.svg"), status_code=302)

    app.add_api_route("/favicon.ico", favicon, methods=["GET"], include_in_schema=False)
    for router in routers:
        app.include_router(router)  # type: ignore[arg-type]

    json_app_error = app.exception_handlers[AppError]
    json_http_error = app.exception_handlers[StarletteHTTPException]
    json_validation_error = app.exception_handlers[RequestValidationError]

    async def app_error(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, AppError) or not wants_page(request):
            return await _delegate(json_app_error, request, exc)
        if isinstance(exc, Unauthorized) or exc.code == "login_required":
            return _login_redirect(request)
        return await error_page(request, status_code=exc.status_code, message=i18n.gettext(exc.message, **exc.params))

    async def http_error(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, StarletteHTTPException) or not wants_page(request):
            return await _delegate(json_http_error, request, exc)
        if exc.status_code == 404:
            message = i18n.gettext("We could not find that.")
        elif exc.status_code == 405:
            message = i18n.gettext("That method is not allowed here.")
        else:
            message = i18n.gettext("The request body could not be read.")
        return await error_page(request, status_code=exc.status_code, message=message)

    async def validation_error(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, RequestValidationError) or not wants_page(request):
            return await _delegate(json_validation_error, request, exc)
        # On pages this is a malformed address (/notes/abc) or a hand-edited query.
        if any(error.get("loc", ("",))[0] == "path" for error in exc.errors()):
            return await error_page(request, status_code=404, message=i18n.gettext("We could not find that."))
        return await error_page(request, status_code=400, message=i18n.gettext("Some fields are not valid."))

    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
