"""The edge of HTML routes (each domain's ``views.py``): transactions, CSRF for forms,
the viewer, and redirects that work for plain forms and for htmx alike."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from bridgenote.core.auth import Viewer
from bridgenote.core.errors import AppError, Forbidden
from bridgenote.core.security import constant_time_equals
from bridgenote.core.web import CSRF_HEADER, SAFE_METHODS, TransactionalRoute, ViewerDep
from bridgenote.web.templating import ANON_CSRF_COOKIE

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
CSRF_FIELD = "csrf_token"


class ViewRoute(TransactionalRoute):
    """One request, one transaction (as for the API). Before that, a form's ``csrf_token``
    field is put where core's CSRF check looks for it (``request.state.csrf_form_token``),
    so cookie-session forms work without JavaScript; htmx sends the header instead."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def view(request: Request) -> Response:
            if request.method not in SAFE_METHODS and request.headers.get("content-type", "").startswith(FORM_TYPES):
                form = await request.form()  # Starlette caches it for the endpoint
                token = form.get(CSRF_FIELD)
                if isinstance(token, str):
                    request.state.csrf_form_token = token
            return await handler(request)

        return view


def views_router() -> APIRouter:
    return APIRouter(route_class=ViewRoute, include_in_schema=False)


class LoginRequired(AppError):
    """Raised by pages that need an account; rendered as a redirect to the log-in page."""

    status_code = 401
    code = "login_required"
    message = "Log in to continue."


def _check_visitor_csrf(request: Request) -> None:
    """Visitors have no session token: their forms echo a random value that the page
    also put in a cookie (double submit), so another site cannot post them."""
    sent = request.headers.get(CSRF_HEADER) or getattr(request.state, "csrf_form_token", None)
    expected = request.cookies.get(ANON_CSRF_COOKIE)
    if not sent or not expected or not constant_time_equals(sent, expected):
        raise Forbidden(
            "The security token of this form is missing or out of date. Reload the page and try again.",
            code="csrf_failed",
        )


async def page_viewer(request: Request, viewer: ViewerDep) -> Viewer:
    """The viewer of a page; every write by a visitor must pass the double-submit check
    (a member's writes are checked by core against their session's token)."""
    if request.method not in SAFE_METHODS and not viewer.is_authenticated:
        _check_visitor_csrf(request)
    return viewer


async def page_user(viewer: Annotated[Viewer, Depends(page_viewer)]) -> Viewer:
    if not viewer.is_authenticated:
        raise LoginRequired()
    if viewer.state == "suspended":
        raise Forbidden("Your account is suspended.", code="account_suspended")
    return viewer


PageViewer = Annotated[Viewer, Depends(page_viewer)]
PageUser = Annotated[Viewer, Depends(page_user)]


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def safe_next(value: object, default: str = "/") -> str:
    """A local path to go back to (never another site: ``//evil``, ``/\\evil``, ``https:``)."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(ch in value for ch in "\r\n\t\\"):
        return default
    return value[:2000]


def redirect(request: Request, url: str) -> Response:
    """After a successful form post: a 303 for plain forms, ``HX-Redirect`` for htmx."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


async def form_data(request: Request) -> dict[str, Any]:
    """The posted form as a dict (repeated fields become lists under ``name[]``-less keys
    via :func:`form_list`)."""
    form = await request.form()
    return {key: value for key, value in form.items()}


async def form_list(request: Request, name: str) -> list[str]:
    form = await request.form()
    return [value for value in form.getlist(name) if isinstance(value, str)]


def next_page_url(request: Request, cursor: str | None) -> str | None:
    """This page's address with ``cursor`` swapped in (the infinite-scroll loader's target)."""
    if cursor is None:
        return None
    params = {k: v for k, v in request.query_params.items() if k != "cursor"}
    params["cursor"] = cursor
    return f"{request.url.path}?{urlencode(params)}"
