"""Who is making a request. Core knows only this value object; the accounts domain
registers the function that turns a token into a :class:`Viewer`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Viewer:
    id: int | None
    username: str | None = None
    role: str = "user"
    state: str = "active"
    region: str | None = None
    ui_language: str = "en"
    read_languages: tuple[str, ...] = ()
    auth_kind: str | None = None  # "session" (cookie) or "api" (bearer token)
    token_id: int | None = None
    csrf_token: str | None = None
    created_at_ms: int = 0

    @property
    def is_authenticated(self) -> bool:
        return self.id is not None

    @property
    def is_staff(self) -> bool:
        return self.role in ("moderator", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


ANONYMOUS = Viewer(id=None)
