"""Pages of the accounts domain: sign-up with the newcomer onboarding, log-in and out,
the language switch, follow buttons and settings. Everything goes through
``accounts.service``; the cookies are the same as the API's browser sessions."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.accounts import service
from bridgenote.accounts.api import _set_session_cookies
from bridgenote.accounts.schemas import LoginRequest, PasswordChange, ProfileUpdate, UserCreate
from bridgenote.core import i18n
from bridgenote.core.auth import Viewer
from bridgenote.core.errors import AppError, BadRequest
from bridgenote.core.languages import CONTENT_LANGUAGES
from bridgenote.core.schemas import IdPath
from bridgenote.core.web import CSRF_COOKIE, SESSION_COOKIE, RuntimeDep, SessionDep, forget_viewers, rate_limit
from bridgenote.feed import service as feed_service
from bridgenote.notes import service as notes_service
from bridgenote.translation import service as translation_service
from bridgenote.web.routing import (
    PageUser,
    PageViewer,
    form_data,
    form_list,
    is_htmx,
    redirect,
    safe_next,
    views_router,
)
from bridgenote.web.templating import TOPICS, render, tag_url, translation_available, user_url

router = views_router()

LANG_COOKIE = "bn_lang"
LANG_COOKIE_SECONDS = 365 * 86400

# Shown in the sign-up onboarding until the moderation domain serves the community rules
# of the member's region; message ids, so each reader gets them in their language.
COMMUNITY_RULES = (
    (
        i18n.N_("Be kind across languages"),
        i18n.N_("Disagree with ideas, not people. No harassment, slurs or mocking someone's language skills."),
    ),
    (
        i18n.N_("Share what is yours"),
        i18n.N_("Post photos and words you made or may share, and credit the people and places in them."),
    ),
    (
        i18n.N_("Keep it real"),
        i18n.N_("No spam, scams, fake reviews or undisclosed ads. Say so when a post is sponsored."),
    ),
    (
        i18n.N_("Keep people safe"),
        i18n.N_("No sexual content involving minors, violence, self-harm promotion or sharing private information."),
    ),
    (
        i18n.N_("Local laws apply"),
        i18n.N_("Some posts may be limited in some regions to follow local law; you will be told when yours is."),
    ),
)

# Field -> what to tell a person whose sign-up form fails validation on that field.
SIGNUP_FIELD_HELP = {
    "username": i18n.N_('Use 3 to 30 letters, digits, "_" or ".", starting and ending with a letter or digit.'),
    "email": i18n.N_("Enter a valid email address."),
    "password": i18n.N_("Use at least 8 characters for your password."),
    "display_name": i18n.N_("Names have up to 50 characters."),
}


def _field_errors(exc: ValidationError, help_texts: dict[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = str(error.get("loc", ("",))[0])
        if "reserved" in str(error.get("msg", "")):
            errors[field] = i18n.gettext("That username is taken.")
        else:
            errors.setdefault(field, i18n.gettext(help_texts.get(field, "Some fields are not valid.")))
    return errors


def _remember_language(response: Response, language: str, request: Request) -> None:
    response.set_cookie(
        LANG_COOKIE,
        language,
        max_age=LANG_COOKIE_SECONDS,
        samesite="lax",
        secure=request.app.state.settings.cookie_secure,
        path="/",
    )


# ---------------------------------------------------------------- sign-up and log-in


@router.get("/login")
async def login_page(
    request: Request, viewer: PageViewer, next: Annotated[str, Query(max_length=2000)] = "/"
) -> Response:
    if viewer.is_authenticated:
        return redirect(request, safe_next(next))
    return await render(request, "login.html", {"next": safe_next(next), "errors": {}, "form": {}}, viewer=viewer)


@router.post("/login", dependencies=[Depends(rate_limit("login", per="ip"))])
async def login(request: Request, viewer: PageViewer, session: SessionDep, runtime: RuntimeDep) -> Response:
    form = await form_data(request)
    target = safe_next(form.get("next"))
    values = {"login": str(form.get("login") or "")[:254], "otp": str(form.get("otp") or "")[:10]}
    try:
        data = LoginRequest(
            login=values["login"] or "?", password=str(form.get("password") or "?"), otp=values["otp"] or None
        )
        user, token, raw = await service.login(session, data=data, session_days=runtime.settings.session_days)
    except AppError as exc:
        context = {
            "next": target,
            "form": values,
            "error": i18n.gettext(exc.message, **exc.params),
            "need_otp": exc.code in ("otp_required", "otp_invalid"),
            "errors": {},
        }
        return await render(request, "login.html", context, viewer=viewer, status_code=exc.status_code)
    response = redirect(request, target)
    _set_session_cookies(response, runtime, raw, token.csrf_token)
    _remember_language(response, user.ui_language, request)
    return response


@router.get("/signup")
async def signup_page(request: Request, viewer: PageViewer) -> Response:
    if viewer.is_authenticated:
        return redirect(request, "/")
    return await render(request, "signup.html", {"errors": {}, "form": {}}, viewer=viewer)


@router.post("/signup", dependencies=[Depends(rate_limit("signup", per="ip"))])
async def signup(request: Request, viewer: PageViewer, session: SessionDep, runtime: RuntimeDep) -> Response:
    form = await form_data(request)
    language = i18n.current_language()
    values = {key: str(form.get(key) or "")[:300] for key in ("username", "email", "display_name")}
    password = str(form.get("password") or "")
    try:
        data = UserCreate(
            username=values["username"].strip(),
            email=values["email"].strip(),
            password=password,
            display_name=values["display_name"].strip(),
            ui_language=language,
            read_languages=[language],
        )
    except ValidationError as exc:
        errors = _field_errors(exc, SIGNUP_FIELD_HELP)
        return await render(request, "signup.html", {"errors": errors, "form": values}, viewer=viewer, status_code=422)
    try:
        user = await service.create_user(session, data=data)
    except AppError as exc:
        field = "email" if exc.code == "email_taken" else "username"
        errors = {field: i18n.gettext(exc.message, **exc.params)}
        return await render(request, "signup.html", {"errors": errors, "form": values}, viewer=viewer, status_code=409)
    _user, token, raw = await service.login(
        session, data=LoginRequest(login=user.username, password=password), session_days=runtime.settings.session_days
    )
    response = redirect(request, "/welcome")
    _set_session_cookies(response, runtime, raw, token.csrf_token)
    _remember_language(response, language, request)
    return response


@router.post("/logout")
async def logout(request: Request, viewer: PageUser, session: SessionDep) -> Response:
    await service.logout(session, viewer=viewer)
    forget_viewers(request)
    response = redirect(request, "/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


# ---------------------------------------------------------------- onboarding


WELCOME_STEPS = ("languages", "interests", "rules")


@router.get("/welcome")
async def welcome(
    request: Request,
    viewer: PageUser,
    session: SessionDep,
    step: Annotated[str, Query(max_length=20)] = "languages",
) -> Response:
    user = await service.get_user(session, user_id=viewer.id or 0)
    step = step if step in WELCOME_STEPS else "languages"
    context = {
        "step": step,
        "steps": WELCOME_STEPS,
        "user": user,
        "rules": COMMUNITY_RULES,
    }
    return await render(request, "welcome.html", context, viewer=viewer, session=session)


@router.post("/welcome")
async def welcome_save(request: Request, viewer: PageUser, session: SessionDep) -> Response:
    form = await form_data(request)
    step = form.get("step")
    forget_viewers(request)
    if step == "languages":
        ui_language = str(form.get("ui_language") or viewer.ui_language)
        read = [tag for tag in await form_list(request, "read_languages") if tag in CONTENT_LANGUAGES]
        data = _profile_update(ui_language=ui_language, read_languages=read or [ui_language])
        await service.update_profile(session, viewer=viewer, data=data)
        response = redirect(request, "/welcome?step=interests")
        _remember_language(response, data.ui_language or ui_language, request)
        return response
    if step == "interests":
        interests = [topic for topic in await form_list(request, "interests") if topic in TOPICS]
        await service.update_profile(session, viewer=viewer, data=_profile_update(interests=interests))
        return redirect(request, "/welcome?step=rules")
    return redirect(request, "/")


async def _topic_links(topics: list[str], session: AsyncSession) -> list[tuple[str, str]]:
    """Each topic with where it leads: its hashtag page when a note has used it, otherwise a
    search (a profile's topics include onboarding words such as "foodie" that no note may
    have tagged yet, and a hashtag page for those is a 404)."""
    used = await notes_service.existing_hashtags(session, names=topics)
    return [(topic, tag_url(topic) if topic in used else "/search?" + urlencode({"q": topic})) for topic in topics]


def _profile_update(**values: Any) -> ProfileUpdate:
    try:
        return ProfileUpdate(**values)
    except ValidationError as exc:
        raise BadRequest("Some fields are not valid.", code="validation_error") from exc


# ---------------------------------------------------------------- language switch


@router.post("/language")
async def switch_language(request: Request, viewer: PageViewer, session: SessionDep) -> Response:
    """Any time, from any page: a visitor's choice lives in a cookie, a member's in their profile."""
    form = await form_data(request)
    language = str(form.get("lang") or "")
    if language not in i18n.UI_LANGUAGES:
        raise BadRequest("Some fields are not valid.", code="validation_error")
    if viewer.is_authenticated:
        await service.update_profile(session, viewer=viewer, data=ProfileUpdate(ui_language=language))
        forget_viewers(request)
    response = redirect(request, safe_next(form.get("next")))
    _remember_language(response, language, request)
    return response


# ---------------------------------------------------------------- follow


@router.post("/u/{username}/follow")
async def follow(username: str, request: Request, viewer: PageUser, session: SessionDep) -> Response:
    form = await form_data(request)
    if form.get("action") == "unfollow":
        await service.unfollow(session, viewer=viewer, username=username)
        following = False
    else:
        await service.follow(session, viewer=viewer, username=username)
        following = True
    if not is_htmx(request):
        return redirect(request, user_url(username))
    user = await service.access_user(session, viewer=viewer, username=username)
    return await render(
        request, "_follow_button.html", {"username": user.username, "following": following}, viewer=viewer
    )


# ---------------------------------------------------------------- settings


SAVED_MESSAGES = {
    "profile": i18n.N_("Your profile is saved."),
    "preferences": i18n.N_("Your preferences are saved."),
    "password": i18n.N_("Your password is changed. Other sessions were signed out."),
    "2fa-on": i18n.N_("Two-factor authentication is on."),
    "2fa-off": i18n.N_("Two-factor authentication is off."),
    "token-revoked": i18n.N_("The token is revoked."),
    "export": i18n.N_("Your archive is being prepared. Refresh this page in a minute."),
    "translation": i18n.N_("Your translation settings are saved."),
    "discover": i18n.N_("Your Discover settings are saved."),
}


async def _settings_page(
    request: Request,
    viewer: Viewer,
    session: SessionDep,
    runtime: RuntimeDep,
    **extra: Any,
) -> Response:
    user = await service.get_user(session, user_id=viewer.id or 0)
    saved = request.query_params.get("saved", "")
    discover_prefs = await feed_service.get_settings(session, viewer=viewer)
    context = {
        "user": user,
        "avatar_url": service.avatar_url(runtime.storage, user),
        "tokens": [t for t in await service.list_tokens(session, viewer=viewer) if t.kind == service.API_KIND],
        "exports": await service.list_exports(session, viewer=viewer),
        "saved": i18n.gettext(SAVED_MESSAGES[saved]) if saved in SAVED_MESSAGES else None,
        "new_token": None,
        "totp": None,
        "discover_prefs": discover_prefs,
        "discover_topics": await _topic_links([topic for topic, _weight in discover_prefs.top_topics[:6]], session),
        "translation_prefs": (
            await translation_service.get_preferences(session, viewer=viewer)
            if await translation_available(request)
            else None
        ),
        **extra,
    }
    return await render(request, "settings.html", context, viewer=viewer, session=session)


@router.get("/settings")
async def settings(request: Request, viewer: PageUser, session: SessionDep, runtime: RuntimeDep) -> Response:
    return await _settings_page(request, viewer, session, runtime)


@router.post("/settings/profile")
async def save_profile(request: Request, viewer: PageUser, session: SessionDep) -> Response:
    form = await form_data(request)
    data = _profile_update(
        display_name=str(form.get("display_name") or ""),
        bio=str(form.get("bio") or ""),
        likes_public=form.get("likes_public") == "on",
    )
    await service.update_profile(session, viewer=viewer, data=data)
    forget_viewers(request)
    return redirect(request, "/settings?saved=profile#profile")


@router.post("/settings/preferences")
async def save_preferences(request: Request, viewer: PageUser, session: SessionDep) -> Response:
    form = await form_data(request)
    ui_language = str(form.get("ui_language") or viewer.ui_language)
    read = [tag for tag in await form_list(request, "read_languages") if tag in CONTENT_LANGUAGES]
    interests = [topic for topic in await form_list(request, "interests") if topic in TOPICS]
    data = _profile_update(
        ui_language=ui_language,
        read_languages=read or [ui_language],
        region=str(form.get("region") or "") or None,
        interests=interests,
    )
    await service.update_profile(session, viewer=viewer, data=data)
    forget_viewers(request)
    response = redirect(request, "/settings?saved=preferences#preferences")
    _remember_language(response, ui_language, request)
    return response


@router.post("/settings/translation")
async def save_translation(request: Request, viewer: PageUser, session: SessionDep) -> Response:
    """ "Translate automatically" for notes and comments in languages the member does not read."""
    form = await form_data(request)
    await translation_service.update_preferences(
        session, viewer=viewer, notes=form.get("auto_notes") == "on", comments=form.get("auto_comments") == "on"
    )
    return redirect(request, "/settings?saved=translation#translation")


@router.post("/settings/password")
async def change_password(request: Request, viewer: PageUser, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        data = PasswordChange(
            current_password=str(form.get("current_password") or ""), new_password=str(form.get("new_password") or "")
        )
    except ValidationError as exc:
        raise BadRequest("Use at least 8 characters for your password.", code="validation_error") from exc
    await service.change_password(session, viewer=viewer, current=data.current_password, new=data.new_password)
    forget_viewers(request)
    return redirect(request, "/settings?saved=password#security")


@router.post("/settings/tokens")
async def create_token(request: Request, viewer: PageUser, session: SessionDep, runtime: RuntimeDep) -> Response:
    form = await form_data(request)
    name = str(form.get("name") or "").strip()[:100]
    if not name:
        raise BadRequest("Give the token a name.", code="validation_error")
    _token, raw = await service.create_api_token(session, viewer=viewer, name=name)
    # Shown once, on this response only: it is not stored anywhere in readable form.
    return await _settings_page(request, viewer, session, runtime, new_token=raw)


@router.post("/settings/tokens/{token_id}/revoke")
async def revoke_token(token_id: IdPath, request: Request, viewer: PageUser, session: SessionDep) -> Response:
    await service.revoke_token(session, viewer=viewer, token_id=token_id)
    forget_viewers(request)
    return redirect(request, "/settings?saved=token-revoked#tokens")


@router.post("/settings/2fa/setup")
async def totp_setup(request: Request, viewer: PageUser, session: SessionDep, runtime: RuntimeDep) -> Response:
    secret, uri = await service.begin_totp(session, viewer=viewer, issuer=runtime.settings.site_name)
    return await _settings_page(request, viewer, session, runtime, totp={"secret": secret, "uri": uri})


@router.post("/settings/2fa/enable")
async def totp_enable(request: Request, viewer: PageUser, session: SessionDep) -> Response:
    form = await form_data(request)
    await service.enable_totp(session, viewer=viewer, code=str(form.get("code") or "").strip()[:10])
    return redirect(request, "/settings?saved=2fa-on#security")


@router.post("/settings/2fa/disable")
async def totp_disable(request: Request, viewer: PageUser, session: SessionDep) -> Response:
    form = await form_data(request)
    await service.disable_totp(
        session,
        viewer=viewer,
        password=str(form.get("password") or ""),
        code=str(form.get("code") or "").strip()[:10] or None,
    )
    return redirect(request, "/settings?saved=2fa-off#security")


@router.post("/settings/export", dependencies=[Depends(rate_limit("export"))])
async def request_export(request: Request, viewer: PageUser, session: SessionDep) -> Response:
    await service.request_export(session, viewer=viewer)
    return redirect(request, "/settings?saved=export#data")


@router.post("/settings/delete")
async def delete_account(request: Request, viewer: PageUser, session: SessionDep) -> Response:
    form = await form_data(request)
    await service.delete_account(
        session,
        viewer=viewer,
        password=str(form.get("password") or ""),
        otp=str(form.get("code") or "").strip()[:10] or None,
    )
    forget_viewers(request)
    response = redirect(request, "/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


__all__ = ["router"]
