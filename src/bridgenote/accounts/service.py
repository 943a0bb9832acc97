"""Accounts: sign-up, sessions and tokens, profiles, follows, blocks and mutes.

Other domains use this module (never ``accounts.models`` directly) for
relations such as "who has this viewer blocked".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    ColumnExpressionArgument,
    Select,
    bindparam,
    delete,
    exists,
    literal,
    or_,
    select,
    union,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.accounts import policy
from bridgenote.accounts.models import AuthToken, Block, DataExport, Follow, Mute, User
from bridgenote.accounts.schemas import USERNAME_RE, LoginRequest, ProfileUpdate, UserBrief, UserCreate
from bridgenote.core import security
from bridgenote.core.auth import Viewer
from bridgenote.core.db import utcnow
from bridgenote.core.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from bridgenote.core.events import publish
from bridgenote.core.ids import EPOCH_MS
from bridgenote.core.jobs import enqueue, insert_ignore
from bridgenote.core.pagination import Window, clamp_limit, decode_id_cursor, next_cursor_for
from bridgenote.core.storage import Storage
from bridgenote.core.text import clean_user_text, fold

__all__ = ["User", "UserBrief"]

SESSION_KIND = "session"
API_KIND = "api"


def username_key(username: str) -> str:
    return fold(username)


def _lookup_key(username: str) -> str | None:
    """The matching key of a name typed by someone (a URL, an @mention), or ``None`` when
    no account could have that name: folding would otherwise make "bob" + a zero-width
    space, or any other name sign-up refuses, an alias of "bob"."""
    return username_key(username) if USERNAME_RE.match(username) else None


async def _find_by_name(session: AsyncSession, username: str, *, include_deleted: bool = False) -> User | None:
    key = _lookup_key(username)
    if key is None:
        return None
    stmt = select(User).where(User.username_key == key)
    if not include_deleted:
        stmt = stmt.where(User.state != "deleted")
    return await session.scalar(stmt)


def viewer_for(user: User, token: AuthToken | None = None) -> Viewer:
    return Viewer(
        id=user.id,
        username=user.username,
        role=user.role,
        state=user.state,
        region=user.region,
        ui_language=user.ui_language,
        read_languages=tuple(user.read_languages or ()),
        auth_kind=token.kind if token else None,
        token_id=token.id if token else None,
        csrf_token=token.csrf_token if token else None,
        created_at_ms=(user.id >> 22) + EPOCH_MS,
    )


# ---------------------------------------------------------------- sign-up, login


async def create_user(session: AsyncSession, *, data: UserCreate, role: str = "user") -> User:
    """Create an account. Raises :class:`Conflict` for a taken username or email."""
    key = username_key(data.username)
    email = data.email.lower()
    taken = await session.execute(
        select(User.username_key, User.email).where(or_(User.username_key == key, User.email == email))
    )
    for row_key, row_email in taken.all():
        if row_key == key:
            raise Conflict("That username is taken.", code="username_taken")
        if row_email == email:
            raise Conflict("An account with that email already exists.", code="email_taken")
    user = User(
        username=data.username,
        username_key=key,
        email=email,
        password_hash=await security.hash_password(data.password),
        display_name=clean_user_text(data.display_name) or data.username,
        read_languages=data.read_languages,
        write_languages=data.write_languages or data.read_languages[:1],
        region=data.region,
        ui_language=data.ui_language,
        interests=data.interests,
        role=role,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent sign-up won the race
        if "email" in str(exc.orig):
            raise Conflict("An account with that email already exists.", code="email_taken") from exc
        raise Conflict("That username is taken.", code="username_taken") from exc
    await publish(session, "user.created", {"user_id": user.id})
    return user


# A revoked token's row stays this long (the settings page and support can still tell a
# logged-out session from one that never existed), then goes with the next token issued.
REVOKED_TOKEN_KEEP = dt.timedelta(days=30)


async def _forget_dead_tokens(session: AsyncSession, *, user_id: int) -> None:
    """Delete the account's expired tokens and those revoked long ago. Done whenever the
    account gets a new one, so the table holds what people use, not every log-in ever made."""
    now = utcnow()
    await session.execute(
        delete(AuthToken).where(
            AuthToken.user_id == user_id,
            or_(AuthToken.expires_at < now, AuthToken.revoked_at < now - REVOKED_TOKEN_KEEP),
        )
    )


async def _issue_token(
    session: AsyncSession, *, user: User, kind: str, name: str, days: int | None
) -> tuple[AuthToken, str]:
    await _forget_dead_tokens(session, user_id=user.id)
    raw = security.new_token("bn_" if kind == API_KIND else "")
    token = AuthToken(
        user_id=user.id,
        kind=kind,
        name=name,
        token_hash=security.token_digest(raw),
        csrf_token=security.new_token() if kind == SESSION_KIND else None,
        last_used_at=utcnow(),
        expires_at=utcnow() + dt.timedelta(days=days) if days else None,
    )
    session.add(token)
    await session.flush()
    return token, raw


async def login(session: AsyncSession, *, data: LoginRequest, session_days: int) -> tuple[User, AuthToken, str]:
    """Check credentials (and the TOTP code when two-factor is on) and open a session
    or API token. Unknown users and wrong passwords give the same answer."""
    identifier = data.login.strip()
    if "@" in identifier:
        user = await session.scalar(select(User).where(User.email == identifier.lower(), User.state != "deleted"))
    else:
        user = await _find_by_name(session, identifier)
    ok = await security.verify_password(user.password_hash if user else None, data.password)
    if user is None or not ok:
        raise Unauthorized("Wrong username or password.", code="invalid_credentials")
    if user.totp_enabled:
        if not data.otp:
            raise Unauthorized("Enter the 6-digit code from your authenticator app.", code="otp_required")
        if not security.verify_totp(user.totp_secret or "", data.otp):
            raise Unauthorized("That code is not right. Check your authenticator app.", code="otp_invalid")
    if user.state == "suspended":
        raise Forbidden("Your account is suspended.", code="account_suspended")
    if user.password_hash and security.needs_rehash(user.password_hash):
        user.password_hash = await security.hash_password(data.password)
    if data.token_name:
        token, raw = await _issue_token(session, user=user, kind=API_KIND, name=data.token_name, days=None)
    else:
        token, raw = await _issue_token(session, user=user, kind=SESSION_KIND, name="browser", days=session_days)
    return user, token, raw


async def authenticate(session: AsyncSession, kind: str, raw_token: str) -> Viewer | None:
    """Resolve a cookie session or bearer token to a viewer (``None`` when invalid)."""
    if len(raw_token) > 200:
        return None
    now = utcnow()
    row = (
        await session.execute(
            select(User, AuthToken)
            .join(AuthToken, AuthToken.user_id == User.id)
            .where(
                AuthToken.token_hash == security.token_digest(raw_token),
                AuthToken.kind == (API_KIND if kind == "api" else SESSION_KIND),
                AuthToken.revoked_at.is_(None),
                or_(AuthToken.expires_at.is_(None), AuthToken.expires_at > now),
                User.state != "deleted",
            )
        )
    ).first()
    if row is None:
        return None
    user, token = row
    return viewer_for(user, token)


async def logout(session: AsyncSession, *, viewer: Viewer) -> None:
    if viewer.token_id is not None:
        await session.execute(update(AuthToken).where(AuthToken.id == viewer.token_id).values(revoked_at=utcnow()))


async def create_api_token(session: AsyncSession, *, viewer: Viewer, name: str) -> tuple[AuthToken, str]:
    user = await get_user(session, user_id=_require_id(viewer))
    return await _issue_token(session, user=user, kind=API_KIND, name=name, days=None)


async def list_tokens(session: AsyncSession, *, viewer: Viewer) -> Sequence[AuthToken]:
    rows = await session.scalars(
        select(AuthToken)
        .where(
            AuthToken.user_id == viewer.id,
            AuthToken.revoked_at.is_(None),
            or_(AuthToken.expires_at.is_(None), AuthToken.expires_at > utcnow()),
        )
        .order_by(AuthToken.id.desc())
        .limit(200)
    )
    return rows.all()


async def revoke_token(session: AsyncSession, *, viewer: Viewer, token_id: int) -> None:
    token = await session.get(AuthToken, token_id)
    if token is None or token.user_id != viewer.id or token.revoked_at is not None:
        raise NotFound("That token does not exist.")
    token.revoked_at = utcnow()


async def change_password(session: AsyncSession, *, viewer: Viewer, current: str, new: str) -> None:
    """Change the password and sign out every other session and token."""
    user = await get_user(session, user_id=_require_id(viewer))
    if not await security.verify_password(user.password_hash, current):
        raise Forbidden("Your current password is not right.", code="wrong_password")
    user.password_hash = await security.hash_password(new)
    await session.execute(
        update(AuthToken)
        .where(AuthToken.user_id == user.id, AuthToken.id != viewer.token_id, AuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def begin_totp(session: AsyncSession, *, viewer: Viewer, issuer: str) -> tuple[str, str]:
    user = await get_user(session, user_id=_require_id(viewer))
    if user.totp_enabled:
        raise Conflict("Two-factor authentication is already on.", code="totp_enabled")
    user.totp_secret = security.new_totp_secret()
    return user.totp_secret, security.totp_uri(user.totp_secret, account=user.username, issuer=issuer)


async def enable_totp(session: AsyncSession, *, viewer: Viewer, code: str) -> None:
    user = await get_user(session, user_id=_require_id(viewer))
    if user.totp_enabled:
        raise Conflict("Two-factor authentication is already on.", code="totp_enabled")
    if not user.totp_secret:
        raise BadRequest("Start the two-factor set-up first.", code="totp_not_started")
    if not security.verify_totp(user.totp_secret, code):
        raise BadRequest("That code is not right. Check your authenticator app.", code="otp_invalid")
    user.totp_enabled = True


async def disable_totp(session: AsyncSession, *, viewer: Viewer, password: str, code: str | None) -> None:
    user = await get_user(session, user_id=_require_id(viewer))
    if not user.totp_enabled:
        raise BadRequest("Two-factor authentication is not on.", code="totp_not_enabled")
    if not await security.verify_password(user.password_hash, password):
        raise Forbidden("Your current password is not right.", code="wrong_password")
    if not code or not security.verify_totp(user.totp_secret or "", code):
        raise BadRequest("That code is not right. Check your authenticator app.", code="otp_invalid")
    user.totp_enabled = False
    user.totp_secret = None


# ---------------------------------------------------------------- profiles


def _require_id(viewer: Viewer) -> int:
    if viewer.id is None:
        raise Unauthorized()
    return viewer.id


async def get_user(session: AsyncSession, *, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None or user.state == "deleted":
        raise NotFound("That account does not exist.")
    return user


async def get_users(session: AsyncSession, *, user_ids: Sequence[int]) -> dict[int, User]:
    if not user_ids:
        return {}
    rows = await session.scalars(select(User).where(User.id.in_(set(user_ids))))
    return {u.id: u for u in rows}


async def audiences(session: AsyncSession, *, user_ids: Sequence[int]) -> dict[int, tuple[str | None, int]]:
    """(region, follower count) by account id: what ranking needs of creators, read as plain
    rows (a feed pool asks for thousands, and loading them as accounts costs ten times more)."""
    if not user_ids:
        return {}
    rows = await session.execute(select(User.id, User.region, User.follower_count).where(User.id.in_(set(user_ids))))
    return {int(i): (region, int(followers or 0)) for i, region, followers in rows}


def avatar_url(storage: Storage, user: User) -> str | None:
    return storage.url(user.avatar_key) if user.avatar_key else None


def brief(storage: Storage, user: User) -> UserBrief:
    """The small author card shown on notes, comments and notifications."""
    return UserBrief(
        id=user.id, username=user.username, display_name=user.display_name, avatar_url=avatar_url(storage, user)
    )


async def briefs(session: AsyncSession, *, storage: Storage, user_ids: Sequence[int]) -> dict[int, UserBrief]:
    """Author cards for many users in one query."""
    return {uid: brief(storage, user) for uid, user in (await get_users(session, user_ids=user_ids)).items()}


async def find_by_usernames(session: AsyncSession, *, usernames: Sequence[str]) -> dict[str, User]:
    """Active users by folded username (for @mentions)."""
    keys = {key for key in map(_lookup_key, usernames) if key is not None}
    if not keys:
        return {}
    rows = await session.scalars(select(User).where(User.username_key.in_(keys), User.state != "deleted"))
    return {u.username_key: u for u in rows}


async def access_user(session: AsyncSession, *, viewer: Viewer, username: str) -> User:
    """A profile as ``viewer`` may see it: absent if deleted or if either blocked the other."""
    user = await _find_by_name(session, username)
    if user is None or not await policy.can_view_profile(session, viewer=viewer, user_id=user.id):
        raise NotFound("That account does not exist.")
    return user


async def relations(session: AsyncSession, *, viewer: Viewer, user_id: int) -> dict[str, bool]:
    if viewer.id is None or viewer.id == user_id:
        return {"is_following": False, "follows_you": False, "is_muted": False, "is_blocked": False}
    me, them = viewer.id, user_id
    following = await session.scalar(select(exists().where(Follow.follower_id == me, Follow.followee_id == them)))
    follows_you = await session.scalar(select(exists().where(Follow.follower_id == them, Follow.followee_id == me)))
    muted = await session.scalar(select(exists().where(Mute.muter_id == me, Mute.muted_id == them)))
    blocked = await session.scalar(select(exists().where(Block.blocker_id == me, Block.blocked_id == them)))
    return {
        "is_following": bool(following),
        "follows_you": bool(follows_you),
        "is_muted": bool(muted),
        "is_blocked": bool(blocked),
    }


async def update_profile(session: AsyncSession, *, viewer: Viewer, data: ProfileUpdate) -> User:
    user = await get_user(session, user_id=_require_id(viewer))
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if value is None and field not in ("region",):
            continue
        if field == "likes_public":
            user.settings = {**(user.settings or {}), "likes_public": bool(value)}
            continue
        if field in ("display_name", "bio"):
            value = clean_user_text(value)
        setattr(user, field, value)
    user.display_name = (user.display_name or "").strip() or user.username
    await session.flush()
    await publish(session, "user.updated", {"user_id": user.id, "fields": sorted(changes)})
    return user


async def set_avatar(session: AsyncSession, *, viewer: Viewer, storage_key: str | None) -> tuple[User, str | None]:
    """Point the profile at a new avatar file; returns the user and the replaced key.

    The replaced file is public under ``/media``, so a job removes it after commit
    unless another account uses the same (content-addressed) file.
    """
    user = await get_user(session, user_id=_require_id(viewer))
    old, user.avatar_key = user.avatar_key, storage_key
    if old and old != storage_key:
        await enqueue(session, "accounts.drop_avatar_file", {"storage_key": old})
    return user, old


async def set_account_state(session: AsyncSession, *, user_id: int, state: str) -> None:
    """For moderation: ``active``, ``limited`` or ``suspended``."""
    if state not in ("active", "limited", "suspended"):
        raise BadRequest("Unknown account state.")
    await session.execute(update(User).where(User.id == user_id).values(state=state))


async def set_role(session: AsyncSession, *, user_id: int, role: str) -> User:
    """For admins (through moderation): ``user``, ``moderator`` or ``admin``."""
    if role not in ("user", "moderator", "admin"):
        raise BadRequest("Unknown role.", code="invalid_role")
    user = await get_user(session, user_id=user_id)
    user.role = role
    await session.flush()
    return user


# ---------------------------------------------------------------- follows, blocks, mutes


async def _adjust(session: AsyncSession, user_id: int, **deltas: int) -> None:
    values = {name: getattr(User, name) + delta for name, delta in deltas.items()}
    await session.execute(update(User).where(User.id == user_id).values(**values))


async def adjust_counters(session: AsyncSession, *, user_id: int, **deltas: int) -> None:
    """Atomic ``count = count + delta`` on a user's denormalised counters (for notes)."""
    await _adjust(session, user_id, **deltas)


async def follow(session: AsyncSession, *, viewer: Viewer, username: str) -> User:
    target = await access_user(session, viewer=viewer, username=username)
    me = _require_id(viewer)
    if target.id == me:
        raise BadRequest("You cannot follow yourself.", code="follow_self")

    inserted = await insert_ignore(
        session, Follow, {"follower_id": me, "followee_id": target.id, "created_at": utcnow()}
    )
    if not inserted:
        raise Conflict("You already follow this account.", code="already_following")
    await _adjust(session, me, following_count=1)
    await _adjust(session, target.id, follower_count=1)
    await publish(session, "user.followed", {"follower_id": me, "followee_id": target.id})
    return target


async def unfollow(session: AsyncSession, *, viewer: Viewer, username: str) -> None:
    target = await access_user(session, viewer=viewer, username=username)
    me = _require_id(viewer)
    result = await session.execute(delete(Follow).where(Follow.follower_id == me, Follow.followee_id == target.id))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("You do not follow this account.", code="not_following")
    await _adjust(session, me, following_count=-1)
    await _adjust(session, target.id, follower_count=-1)


async def _drop_follow(session: AsyncSession, follower: int, followee: int) -> None:
    result = await session.execute(delete(Follow).where(Follow.follower_id == follower, Follow.followee_id == followee))
    if result.rowcount:  # type: ignore[attr-defined]
        await _adjust(session, follower, following_count=-1)
        await _adjust(session, followee, follower_count=-1)


async def block(session: AsyncSession, *, viewer: Viewer, username: str) -> None:
    """Block: removes follows both ways; neither can see or interact with the other's content."""
    me = _require_id(viewer)
    target = await _find_by_name(session, username)
    if target is None:
        raise NotFound("That account does not exist.")
    if target.id == me:
        raise BadRequest("You cannot block yourself.", code="block_self")

    if not await insert_ignore(session, Block, {"blocker_id": me, "blocked_id": target.id, "created_at": utcnow()}):
        raise Conflict("You already blocked this account.", code="already_blocked")
    await _drop_follow(session, me, target.id)
    await _drop_follow(session, target.id, me)
    await publish(session, "user.blocked", {"blocker_id": me, "blocked_id": target.id})


async def unblock(session: AsyncSession, *, viewer: Viewer, username: str) -> None:
    me = _require_id(viewer)
    target = await _find_by_name(session, username, include_deleted=True)
    if target is None:
        raise NotFound("That account does not exist.")
    result = await session.execute(delete(Block).where(Block.blocker_id == me, Block.blocked_id == target.id))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("You have not blocked this account.", code="not_blocked")


async def mute(session: AsyncSession, *, viewer: Viewer, username: str) -> None:
    target = await access_user(session, viewer=viewer, username=username)
    me = _require_id(viewer)
    if target.id == me:
        raise BadRequest("You cannot mute yourself.", code="mute_self")

    if not await insert_ignore(session, Mute, {"muter_id": me, "muted_id": target.id, "created_at": utcnow()}):
        raise Conflict("You already muted this account.", code="already_muted")


async def unmute(session: AsyncSession, *, viewer: Viewer, username: str) -> None:
    me = _require_id(viewer)
    target = await _find_by_name(session, username, include_deleted=True)
    if target is None:
        raise NotFound("That account does not exist.")
    result = await session.execute(delete(Mute).where(Mute.muter_id == me, Mute.muted_id == target.id))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("You have not muted this account.", code="not_muted")


def blocked_either_way(viewer_id: int | ColumnElement[int]) -> Select[int]:
    """Ids of users who blocked ``viewer_id`` or whom ``viewer_id`` blocked (a subquery)."""
    return union(
        select(Block.blocked_id).where(Block.blocker_id == viewer_id),
        select(Block.blocker_id).where(Block.blocked_id == viewer_id),
    )  # type: ignore[return-value]


def muted_by(viewer_id: int | ColumnElement[int]) -> Select[int]:
    return select(Mute.muted_id).where(Mute.muter_id == viewer_id)


def followed_by(viewer_id: int | ColumnElement[int]) -> Select[int]:
    return select(Follow.followee_id).where(Follow.follower_id == viewer_id)


_VIEWER_ID = bindparam("viewer_id", type_=BigInteger)
# Built once: the feed reads it on every Discover page.
_FEED_RELATIONS = union_all(
    select(Follow.followee_id.label("user_id"), literal(0).label("hidden")).where(Follow.follower_id == _VIEWER_ID),
    select(Block.blocked_id, literal(1)).where(Block.blocker_id == _VIEWER_ID),
    select(Block.blocker_id, literal(1)).where(Block.blocked_id == _VIEWER_ID),
    select(Mute.muted_id, literal(1)).where(Mute.muter_id == _VIEWER_ID),
)


async def feed_relations(session: AsyncSession, *, viewer_id: int) -> tuple[set[int], set[int]]:
    """``(followed, hidden)`` for ``viewer_id``'s feeds in one query: the people they follow,
    and the people whose notes stay out (blocked either way, or muted)."""
    followed: set[int] = set()
    hidden: set[int] = set()
    for user_id, is_hidden in (await session.execute(_FEED_RELATIONS, {"viewer_id": viewer_id})).all():
        (hidden if is_hidden else followed).add(int(user_id))
    return followed, hidden


HIDDEN_STATES = ("deleted", "suspended")


def is_hidden(user_id: ColumnExpressionArgument[int | None]) -> ColumnElement[bool]:
    """SQL condition: the account ``user_id`` (a column of the outer query) is deleted or
    suspended, so nobody else sees its content.

    Correlated on purpose: a primary-key lookup per row. The uncorrelated form,
    ``NOT IN (SELECT id FROM users WHERE state IN ...)``, made SQLite read the whole users
    table on every feed page once ANALYZE had found the state index unselective (almost
    every account is active), and PostgreSQL cannot turn ``NOT IN`` into an anti-join.
    """
    return exists().where(User.id == user_id, User.state.in_(HIDDEN_STATES))


async def is_blocked_either_way(session: AsyncSession, *, a: int, b: int) -> bool:
    found = await session.scalar(
        select(
            exists().where(
                or_(
                    (Block.blocker_id == a) & (Block.blocked_id == b),
                    (Block.blocker_id == b) & (Block.blocked_id == a),
                )
            )
        )
    )
    return bool(found)


async def _user_list(
    session: AsyncSession,
    *,
    viewer: Viewer,
    stmt: Select[User, int],
    order_col: Any,
    cursor: str | None,
    limit: int | None,
) -> Window[User]:
    n = clamp_limit(limit)
    after = decode_id_cursor(cursor)
    if after is not None:
        stmt = stmt.where(order_col < after)
    if viewer.id is not None:
        stmt = stmt.where(User.id.not_in(blocked_either_way(viewer.id)))
    rows = (await session.execute(stmt.where(User.state != "deleted").order_by(order_col.desc()).limit(n + 1))).all()
    users = [row[0] for row in rows]
    keys = [row[1] for row in rows]
    return Window(items=users[:n], next_cursor=next_cursor_for(keys, n, lambda k: k))


async def followers(
    session: AsyncSession, *, viewer: Viewer, username: str, cursor: str | None, limit: int | None
) -> Window[User]:
    """Who follows ``username``, newest account id first; hidden when either side blocked the other."""
    target = await access_user(session, viewer=viewer, username=username)
    order = Follow.follower_id
    stmt = select(User, order).join(Follow, Follow.follower_id == User.id).where(Follow.followee_id == target.id)
    return await _user_list(session, viewer=viewer, stmt=stmt, order_col=order, cursor=cursor, limit=limit)


async def following(
    session: AsyncSession, *, viewer: Viewer, username: str, cursor: str | None, limit: int | None
) -> Window[User]:
    """Whom ``username`` follows, newest account id first; hidden when either side blocked the other."""
    target = await access_user(session, viewer=viewer, username=username)
    order = Follow.followee_id
    stmt = select(User, order).join(Follow, Follow.followee_id == User.id).where(Follow.follower_id == target.id)
    return await _user_list(session, viewer=viewer, stmt=stmt, order_col=order, cursor=cursor, limit=limit)


# ---------------------------------------------------------------- export and deletion


async def request_export(session: AsyncSession, *, viewer: Viewer) -> DataExport:
    me = _require_id(viewer)
    pending = await session.scalar(select(DataExport).where(DataExport.user_id == me, DataExport.state == "pending"))
    if pending is not None:
        return pending
    export = DataExport(user_id=me, state="pending")
    session.add(export)
    await session.flush()
    await enqueue(session, "accounts.build_export", {"export_id": export.id}, queue="interactive")
    return export


async def get_export(session: AsyncSession, *, viewer: Viewer, export_id: int) -> DataExport:
    export = await session.get(DataExport, export_id)
    if export is None or export.user_id != viewer.id:
        raise NotFound("That export does not exist.")
    return export


async def list_exports(session: AsyncSession, *, viewer: Viewer) -> Sequence[DataExport]:
    rows = await session.scalars(
        select(DataExport).where(DataExport.user_id == viewer.id).order_by(DataExport.id.desc()).limit(20)
    )
    return rows.all()


async def delete_account(session: AsyncSession, *, viewer: Viewer, password: str, otp: str | None = None) -> None:
    """Erase personal data now (profile, email, password, sessions) and schedule the purge
    of content and media; the account id stays as an anonymous tombstone.

    Needs the password, and the current TOTP code when two-factor authentication is on.
    """
    user = await get_user(session, user_id=_require_id(viewer))
    if not await security.verify_password(user.password_hash, password):
        raise Forbidden("Your current password is not right.", code="wrong_password")
    if user.totp_enabled:
        if not otp:
            raise Forbidden("Enter the 6-digit code from your authenticator app.", code="otp_required")
        if not security.verify_totp(user.totp_secret or "", otp):
            raise Forbidden("That code is not right. Check your authenticator app.", code="otp_invalid")
    old_avatar = user.avatar_key
    user.username = f"deleted-{user.id}"
    user.username_key = f"deleted-{user.id}"
    user.email = None
    user.password_hash = None
    user.display_name = ""
    user.bio = ""
    user.avatar_key = None
    user.region = None
    user.interests = []
    user.settings = {}
    user.totp_secret = None
    user.totp_enabled = False
    user.state = "deleted"
    user.deleted_at = utcnow()
    await session.execute(update(AuthToken).where(AuthToken.user_id == user.id).values(revoked_at=utcnow()))
    # Follows and blocks are personal data too; counters of the other side follow.
    for row in (await session.execute(select(Follow.followee_id).where(Follow.follower_id == user.id))).all():
        await _drop_follow(session, user.id, row[0])
    for row in (await session.execute(select(Follow.follower_id).where(Follow.followee_id == user.id))).all():
        await _drop_follow(session, row[0], user.id)
    await session.execute(delete(Block).where(or_(Block.blocker_id == user.id, Block.blocked_id == user.id)))
    await session.execute(delete(Mute).where(or_(Mute.muter_id == user.id, Mute.muted_id == user.id)))
    await publish(session, "user.deleted", {"user_id": user.id, "avatar_key": old_avatar})


# ---------------------------------------------------------------- background work (called by tasks.py)


@dataclass
class AccountArchive:
    """This domain's part of a data export: JSON documents by file stem, and storage keys of files."""

    documents: dict[str, Any] = dataclass_field(default_factory=dict)
    media_keys: list[str] = dataclass_field(default_factory=list)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


async def pending_export(session: AsyncSession, *, export_id: int) -> DataExport | None:
    """The export if it still waits to be built and its owner still exists, else ``None``."""
    export = await session.get(DataExport, export_id)
    if export is None or export.state != "pending":
        return None
    owner = await session.get(User, export.user_id)
    if owner is None or owner.state == "deleted":
        return None
    return export


async def _related(session: AsyncSession, stmt: Select[str, dt.datetime]) -> list[dict[str, Any]]:
    return [{"username": name, "since": _iso(since)} for name, since in (await session.execute(stmt)).all()]


async def account_archive(session: AsyncSession, *, user_id: int) -> AccountArchive:
    """What the account itself holds, for its owner: profile, languages, region, settings,
    follows, blocks and mutes, plus the avatar file. Never the password hash, the TOTP
    secret or session tokens."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("That account does not exist.")
    profile = {
        "id": str(user.id),
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "bio": user.bio,
        "avatar": f"media/{user.avatar_key}" if user.avatar_key else None,
        "read_languages": list(user.read_languages or []),
        "write_languages": list(user.write_languages or []),
        "region": user.region,
        "ui_language": user.ui_language,
        "interests": list(user.interests or []),
        "settings": dict(user.settings or {}),
        "role": user.role,
        "state": user.state,
        "two_factor_enabled": user.totp_enabled,
        "follower_count": user.follower_count,
        "following_count": user.following_count,
        "note_count": user.note_count,
        "likes_received": user.likes_received,
        "created_at": _iso(user.created_at),
    }

    def related(model: Any, mine: Any, theirs: Any) -> Select[str, dt.datetime]:
        return (
            select(User.username, model.created_at)
            .join(model, theirs == User.id)
            .where(mine == user_id)
            .order_by(model.created_at, User.id)
        )

    following = await _related(session, related(Follow, Follow.follower_id, Follow.followee_id))
    followers = await _related(session, related(Follow, Follow.followee_id, Follow.follower_id))
    blocks = await _related(session, related(Block, Block.blocker_id, Block.blocked_id))
    mutes = await _related(session, related(Mute, Mute.muter_id, Mute.muted_id))
    return AccountArchive(
        documents={
            "profile": profile,
            "follows": {"following": following, "followers": followers},
            "blocks": blocks,
            "mutes": mutes,
        },
        media_keys=[user.avatar_key] if user.avatar_key else [],
    )


@dataclass(frozen=True)
class FinishedExport:
    finished: bool
    # The archives this one replaces: their rows are gone, the caller deletes the files.
    replaced_keys: list[str]


async def finish_export(session: AsyncSession, *, export_id: int, storage_key: str, size_bytes: int) -> FinishedExport:
    """Mark a pending export ready, and drop the account's older ready archives (each holds a
    copy of every photo and video the account has, and the new one has all they had).
    ``finished`` is False (and nothing changes) if the export is gone or no longer pending,
    e.g. because a second run of the job finished first."""
    export = await session.scalar(select(DataExport).where(DataExport.id == export_id).with_for_update())
    if export is None or export.state != "pending":
        return FinishedExport(False, [])
    export.state = "ready"
    export.storage_key = storage_key
    export.size_bytes = size_bytes
    export.error = None
    export.finished_at = utcnow()
    older = (
        await session.scalars(
            select(DataExport).where(
                DataExport.user_id == export.user_id, DataExport.state == "ready", DataExport.id < export.id
            )
        )
    ).all()
    for old in older:
        await session.delete(old)
    return FinishedExport(True, [old.storage_key for old in older if old.storage_key])


async def fail_export(session: AsyncSession, *, export_id: int, reason: str) -> None:
    """Mark a pending export failed with a reason its owner can read."""
    await session.execute(
        update(DataExport)
        .where(DataExport.id == export_id, DataExport.state == "pending")
        .values(state="failed", error=reason[:2000], finished_at=utcnow())
    )


async def file_in_use(session: AsyncSession, *, storage_key: str) -> bool:
    """Whether any account still shows this file as its avatar."""
    return bool(await session.scalar(select(exists().where(User.avatar_key == storage_key))))


async def purge_deleted_account(session: AsyncSession, *, user_id: int, avatar_key: str | None) -> list[str]:
    """After :func:`delete_account` has committed: drop what is left of the account (its
    export archives and revoked tokens). Returns the storage keys the caller must delete.
    Does nothing unless the account is deleted; safe to run twice."""
    user = await session.get(User, user_id)
    if user is None or user.state != "deleted":
        return []
    keys = [
        key
        for key in await session.scalars(
            select(DataExport.storage_key).where(DataExport.user_id == user_id, DataExport.storage_key.is_not(None))
        )
        if key
    ]
    await session.execute(delete(DataExport).where(DataExport.user_id == user_id))
    await session.execute(delete(AuthToken).where(AuthToken.user_id == user_id))
    if avatar_key and not await file_in_use(session, storage_key=avatar_key):
        keys.append(avatar_key)
    return keys


# ---------------------------------------------------------------- for search


async def user_ids_after(session: AsyncSession, *, after_id: int, limit: int) -> list[int]:
    """Ids of accounts that are not deleted, ascending, for rebuilding indexes in batches."""
    rows = await session.scalars(
        select(User.id).where(User.id > after_id, User.state != "deleted").order_by(User.id).limit(limit)
    )
    return list(rows)


async def visible_users(session: AsyncSession, *, viewer: Viewer, user_ids: Sequence[int]) -> list[User]:
    """The accounts among ``user_ids`` that ``viewer`` may find: not deleted or suspended,
    no block either way. Order is not preserved."""
    if not user_ids:
        return []
    stmt = select(User).where(User.id.in_(user_ids), User.state.not_in(HIDDEN_STATES))
    if viewer.id is not None:
        stmt = stmt.where(User.id.not_in(blocked_either_way(viewer.id)))
    return list((await session.scalars(stmt)).all())
