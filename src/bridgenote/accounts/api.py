from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile, status
from fastapi.responses import Response as RawResponse
from fastapi.responses import StreamingResponse

from bridgenote.accounts import service
from bridgenote.accounts.models import DataExport, User
from bridgenote.accounts.schemas import (
    ExportRead,
    LoginRequest,
    MeRead,
    PasswordChange,
    PasswordConfirm,
    ProfileUpdate,
    SessionRead,
    TokenCreate,
    TokenCreated,
    TokenRead,
    TOTPCode,
    TOTPSetup,
    UserBrief,
    UserCreate,
    UserRead,
)
from bridgenote.core import i18n
from bridgenote.core.auth import Viewer
from bridgenote.core.errors import NotFound
from bridgenote.core.images import make_avatar
from bridgenote.core.pagination import Page
from bridgenote.core.runtime import Runtime
from bridgenote.core.schemas import OK, ErrorResponse, IdPath
from bridgenote.core.storage import Storage, opened
from bridgenote.core.web import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    RuntimeDep,
    SessionDep,
    TransactionalRoute,
    UserDep,
    ViewerDep,
    forget_viewers,
    rate_limit,
)

ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409, 422, 429)
}
router = APIRouter(prefix="/api/v1", route_class=TransactionalRoute, responses=ERRORS)


avatar_url = service.avatar_url
user_brief = service.brief


def user_read(storage: Storage, user: User, relations: dict[str, bool] | None = None) -> UserRead:
    return UserRead.model_validate({**_columns(user), "avatar_url": avatar_url(storage, user), **(relations or {})})


def me_read(storage: Storage, user: User) -> MeRead:
    return MeRead.model_validate({**_columns(user), "avatar_url": avatar_url(storage, user)})


def _columns(user: User) -> dict[str, object]:
    return {**{c.key: getattr(user, c.key) for c in User.__table__.columns}, "likes_public": user.likes_public}


def _set_session_cookies(response: Response, runtime: Runtime, raw: str, csrf: str | None) -> None:
    settings = runtime.settings
    max_age = settings.session_days * 86400
    response.set_cookie(
        SESSION_COOKIE, raw, max_age=max_age, httponly=True, samesite="lax", secure=settings.cookie_secure, path="/"
    )
    if csrf:
        response.set_cookie(
            CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="lax", secure=settings.cookie_secure, path="/"
        )


@router.post(
    "/auth/signup",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionRead,
    dependencies=[Depends(rate_limit("signup", per="ip"))],
    tags=["auth"],
)
async def signup(data: UserCreate, session: SessionDep, runtime: RuntimeDep, response: Response) -> SessionRead:
    """Create an account and sign in with a browser session."""
    user = await service.create_user(session, data=data)
    _user, token, raw = await service.login(
        session,
        data=LoginRequest(login=user.username, password=data.password),
        session_days=runtime.settings.session_days,
    )
    _set_session_cookies(response, runtime, raw, token.csrf_token)
    return SessionRead(user=me_read(runtime.storage, user), csrf_token=token.csrf_token)


@router.post(
    "/auth/login", response_model=SessionRead, dependencies=[Depends(rate_limit("login", per="ip"))], tags=["auth"]
)
async def login(data: LoginRequest, session: SessionDep, runtime: RuntimeDep, response: Response) -> SessionRead:
    """Sign in. With ``token_name`` an API token is returned in the body instead of a cookie."""
    user, token, raw = await service.login(session, data=data, session_days=runtime.settings.session_days)
    if token.kind == service.API_KIND:
        return SessionRead(user=me_read(runtime.storage, user), token=raw)
    _set_session_cookies(response, runtime, raw, token.csrf_token)
    return SessionRead(user=me_read(runtime.storage, user), csrf_token=token.csrf_token)


@router.post("/auth/logout", response_model=OK, tags=["auth"])
async def logout(viewer: UserDep, session: SessionDep, response: Response, request: Request) -> OK:
    await service.logout(session, viewer=viewer)
    forget_viewers(request)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return OK()


@router.get("/auth/session", response_model=SessionRead, tags=["auth"])
async def current_session(viewer: UserDep, session: SessionDep, runtime: RuntimeDep) -> SessionRead:
    user = await service.get_user(session, user_id=viewer.id or 0)
    return SessionRead(user=me_read(runtime.storage, user), csrf_token=viewer.csrf_token)


@router.get("/auth/tokens", response_model=list[TokenRead], tags=["auth"])
async def list_tokens(viewer: UserDep, session: SessionDep) -> list[TokenRead]:
    return [TokenRead.model_validate(t) for t in await service.list_tokens(session, viewer=viewer)]


@router.post("/auth/tokens", status_code=201, response_model=TokenCreated, tags=["auth"])
async def create_token(data: TokenCreate, viewer: UserDep, session: SessionDep) -> TokenCreated:
    token, raw = await service.create_api_token(session, viewer=viewer, name=data.name)
    return TokenCreated.model_validate({**TokenRead.model_validate(token).model_dump(), "token": raw})


@router.delete("/auth/tokens/{token_id}", response_model=OK, tags=["auth"])
async def revoke_token(token_id: IdPath, viewer: UserDep, session: SessionDep, request: Request) -> OK:
    await service.revoke_token(session, viewer=viewer, token_id=token_id)
    forget_viewers(request)
    return OK()


@router.post("/auth/2fa/setup", response_model=TOTPSetup, tags=["auth"])
async def totp_setup(viewer: UserDep, session: SessionDep, runtime: RuntimeDep) -> TOTPSetup:
    secret, uri = await service.begin_totp(session, viewer=viewer, issuer=runtime.settings.site_name)
    return TOTPSetup(secret=secret, otpauth_uri=uri)


@router.post("/auth/2fa/enable", response_model=OK, tags=["auth"])
async def totp_enable(data: TOTPCode, viewer: UserDep, session: SessionDep) -> OK:
    await service.enable_totp(session, viewer=viewer, code=data.code)
    return OK()


@router.post("/auth/2fa/disable", response_model=OK, tags=["auth"])
async def totp_disable(data: PasswordConfirm, viewer: UserDep, session: SessionDep) -> OK:
    await service.disable_totp(session, viewer=viewer, password=data.password, code=data.otp)
    return OK()


@router.get("/me", response_model=MeRead, tags=["me"])
async def get_me(viewer: UserDep, session: SessionDep, runtime: RuntimeDep) -> MeRead:
    return me_read(runtime.storage, await service.get_user(session, user_id=viewer.id or 0))


@router.patch("/me", response_model=MeRead, tags=["me"])
async def update_me(
    data: ProfileUpdate, viewer: UserDep, session: SessionDep, runtime: RuntimeDep, request: Request
) -> MeRead:
    forget_viewers(request)
    return me_read(runtime.storage, await service.update_profile(session, viewer=viewer, data=data))


@router.post("/me/password", response_model=OK, tags=["me"])
async def change_password(data: PasswordChange, viewer: UserDep, session: SessionDep, request: Request) -> OK:
    forget_viewers(request)
    await service.change_password(session, viewer=viewer, current=data.current_password, new=data.new_password)
    return OK()


@router.put("/me/avatar", response_model=MeRead, tags=["me"])
async def put_avatar(
    viewer: UserDep, session: SessionDep, runtime: RuntimeDep, file: Annotated[UploadFile, File()]
) -> MeRead:
    """Upload a profile picture: validated by content, cropped square, metadata removed."""
    limit = runtime.settings.max_upload_bytes
    data = await file.read(limit + 1)
    avatar = await make_avatar(data, max_bytes=limit)
    digest = hashlib.sha256(avatar).hexdigest()
    key = f"a/{digest[:2]}/{digest}.webp"
    await runtime.storage.put(key, avatar, content_type="image/webp")
    user, _old = await service.set_avatar(session, viewer=viewer, storage_key=key)
    return me_read(runtime.storage, user)


@router.delete("/me", response_model=OK, tags=["me"])
async def delete_me(
    data: PasswordConfirm, viewer: UserDep, session: SessionDep, response: Response, request: Request
) -> OK:
    forget_viewers(request)
    """Delete the account: personal data is erased at once, content is purged in the background."""
    await service.delete_account(session, viewer=viewer, password=data.password, otp=data.otp)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return OK()


def _export_read(export: DataExport) -> ExportRead:
    url = f"/api/v1/me/exports/{export.id}/download" if export.state == "ready" else None
    columns = {c.key: getattr(export, c.key) for c in DataExport.__table__.columns}
    # The stored reason is a message id (English); show it in the viewer's language.
    error = i18n.gettext(export.error) if export.error else None
    return ExportRead.model_validate({**columns, "error": error, "download_url": url})


@router.post(
    "/me/exports",
    status_code=202,
    response_model=ExportRead,
    dependencies=[Depends(rate_limit("export"))],
    tags=["me"],
)
async def request_export(viewer: UserDep, session: SessionDep) -> ExportRead:
    """Start building an archive of everything the account holds (JSON + media)."""
    return _export_read(await service.request_export(session, viewer=viewer))


@router.get("/me/exports", response_model=list[ExportRead], tags=["me"])
async def list_exports(viewer: UserDep, session: SessionDep) -> list[ExportRead]:
    return [_export_read(e) for e in await service.list_exports(session, viewer=viewer)]


@router.get("/me/exports/{export_id}", response_model=ExportRead, tags=["me"])
async def get_export(export_id: IdPath, viewer: UserDep, session: SessionDep) -> ExportRead:
    return _export_read(await service.get_export(session, viewer=viewer, export_id=export_id))


@router.get(
    "/me/exports/{export_id}/download",
    tags=["me"],
    response_class=RawResponse,
    responses={
        200: {
            "description": "the account archive (JSON files and media)",
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def download_export(export_id: IdPath, viewer: UserDep, session: SessionDep, runtime: RuntimeDep) -> RawResponse:
    export = await service.get_export(session, viewer=viewer, export_id=export_id)
    if export.state != "ready" or not export.storage_key:
        raise NotFound("That export is not ready yet.", code="export_not_ready")
    # Streamed: an archive holds every photo and video of the account and may run to gigabytes.
    try:
        body = await opened(runtime.storage, export.storage_key)
    except FileNotFoundError:
        # A newer archive replaced it while this row was still being read.
        raise NotFound("That archive is no longer kept. Ask for a new one.", code="export_gone") from None
    headers = {
        "Content-Disposition": f'attachment; filename="bridgenote-export-{export.id}.zip"',
        "Cache-Control": "private, no-store",
    }
    if export.size_bytes is not None:
        headers["Content-Length"] = str(export.size_bytes)
    return StreamingResponse(body, media_type="application/zip", headers=headers)


@router.get("/users/{username}", response_model=UserRead, tags=["users"])
async def get_profile(username: str, viewer: ViewerDep, session: SessionDep, runtime: RuntimeDep) -> UserRead:
    user = await service.access_user(session, viewer=viewer, username=username)
    return user_read(runtime.storage, user, await service.relations(session, viewer=viewer, user_id=user.id))


@router.get("/users/{username}/followers", response_model=Page[UserBrief], tags=["users"])
async def list_followers(
    username: str,
    viewer: ViewerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
) -> Page[UserBrief]:
    page = await service.followers(session, viewer=viewer, username=username, cursor=cursor, limit=limit)
    return Page[UserBrief](items=[user_brief(runtime.storage, u) for u in page.items], next_cursor=page.next_cursor)


@router.get("/users/{username}/following", response_model=Page[UserBrief], tags=["users"])
async def list_following(
    username: str,
    viewer: ViewerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
) -> Page[UserBrief]:
    page = await service.following(session, viewer=viewer, username=username, cursor=cursor, limit=limit)
    return Page[UserBrief](items=[user_brief(runtime.storage, u) for u in page.items], next_cursor=page.next_cursor)


@router.post("/users/{username}/follow", response_model=OK, tags=["users"])
async def follow(username: str, viewer: UserDep, session: SessionDep) -> OK:
    await service.follow(session, viewer=viewer, username=username)
    return OK()


@router.delete("/users/{username}/follow", response_model=OK, tags=["users"])
async def unfollow(username: str, viewer: UserDep, session: SessionDep) -> OK:
    await service.unfollow(session, viewer=viewer, username=username)
    return OK()


@router.post("/users/{username}/block", response_model=OK, tags=["users"])
async def block(username: str, viewer: UserDep, session: SessionDep) -> OK:
    await service.block(session, viewer=viewer, username=username)
    return OK()


@router.delete("/users/{username}/block", response_model=OK, tags=["users"])
async def unblock(username: str, viewer: UserDep, session: SessionDep) -> OK:
    await service.unblock(session, viewer=viewer, username=username)
    return OK()


@router.post("/users/{username}/mute", response_model=OK, tags=["users"])
async def mute(username: str, viewer: UserDep, session: SessionDep) -> OK:
    await service.mute(session, viewer=viewer, username=username)
    return OK()


@router.delete("/users/{username}/mute", response_model=OK, tags=["users"])
async def unmute(username: str, viewer: UserDep, session: SessionDep) -> OK:
    await service.unmute(session, viewer=viewer, username=username)
    return OK()


__all__ = ["Viewer", "router"]
