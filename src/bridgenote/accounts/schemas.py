from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import AfterValidator, EmailStr, Field, field_validator

from bridgenote.core.languages import CONTENT_LANGUAGES, valid_region
from bridgenote.core.schemas import Id, ReadSchema, Schema
from bridgenote.core.text import fold

USERNAME_MAX = 30
# Letters (any script), digits, "_" and "."; starts and ends with a letter or digit; no "..".
USERNAME_RE = re.compile(r"^(?!.*\.\.)[^\W_][\w.]{1,28}[^\W_]\Z")
RESERVED_USERNAMES = frozenset(
    {"admin", "administrator", "api", "root", "support", "help", "about", "settings", "login", "logout", "signup",
     "me", "static", "media", "notes", "search", "explore", "discover", "bridgenote", "moderator", "system"}
)  # fmt: skip


def _check_username(value: str) -> str:
    if not USERNAME_RE.match(value):
        raise ValueError("3 to 30 letters, digits, '_' or '.', starting and ending with a letter or digit")
    # Checked on the matching key, so full-width "ａｄｍｉｎ" is as reserved as "admin", and
    # ligatures that NFKC expands cannot overflow the 30-character key column.
    key = fold(value)
    if len(key) > USERNAME_MAX:
        raise ValueError("this username is too long")
    if key in RESERVED_USERNAMES:
        raise ValueError("this username is reserved")
    return value


def _check_email(value: str) -> str:
    # RFC 5321 limits; the validator accepts longer local parts, which no mail server delivers to.
    local, _at, _domain = value.rpartition("@")
    if len(local) > 64 or len(value) > 254:
        raise ValueError("this email address is too long")
    return value


def _check_languages(values: list[str]) -> list[str]:
    unknown = [v for v in values if v not in CONTENT_LANGUAGES]
    if unknown:
        # The rejected values are not echoed: they may not even be encodable text.
        raise ValueError(f"unsupported language; use one of {', '.join(CONTENT_LANGUAGES)}")
    return list(dict.fromkeys(values))


# CLDR lists these two-letter territories, but none is a country a person lives in:
# unknown region, EU, eurozone, UN, outlying Oceania and the two pseudo-locales.
NOT_COUNTRIES = frozenset({"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB"})


def _check_region(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    value = value.upper()
    if value in NOT_COUNTRIES or not valid_region(value):
        raise ValueError("must be an ISO 3166 two-letter country code, e.g. US or CN")
    return value


def _check_ui_language(value: str) -> str:
    if value not in ("en", "zh-Hans"):
        raise ValueError("must be 'en' or 'zh-Hans'")
    return value


Username = Annotated[str, AfterValidator(_check_username)]
Email = Annotated[EmailStr, AfterValidator(_check_email)]
Languages = Annotated[list[str], Field(max_length=10), AfterValidator(_check_languages)]
Region = Annotated[str | None, AfterValidator(_check_region)]
UILanguage = Annotated[str, AfterValidator(_check_ui_language)]
Password = Annotated[str, Field(min_length=8, max_length=256)]
Interests = Annotated[list[Annotated[str, Field(min_length=1, max_length=40)]], Field(max_length=30)]


class UserCreate(Schema):
    username: Username
    email: Email
    password: Password
    display_name: Annotated[str, Field(max_length=50)] = ""
    read_languages: Languages = Field(default_factory=lambda: ["en"])
    write_languages: Languages = Field(default_factory=list)
    region: Region = None
    ui_language: UILanguage = "en"
    interests: Interests = Field(default_factory=list)


class LoginRequest(Schema):
    login: Annotated[str, Field(min_length=1, max_length=254, description="username or email")]
    password: Annotated[str, Field(min_length=1, max_length=256)]
    otp: Annotated[str | None, Field(max_length=10)] = None
    token_name: Annotated[
        str | None,
        Field(max_length=100, description="create a named API token instead of a browser session"),
    ] = None


class ProfileUpdate(Schema):
    display_name: Annotated[str | None, Field(max_length=50)] = None
    bio: Annotated[str | None, Field(max_length=500)] = None
    read_languages: Languages | None = None
    write_languages: Languages | None = None
    region: Region = None
    ui_language: UILanguage | None = None
    interests: Interests | None = None
    likes_public: bool | None = Field(default=None, description="show the notes you liked on your profile")


class PasswordChange(Schema):
    current_password: Annotated[str, Field(min_length=1, max_length=256)]
    new_password: Password


class TokenCreate(Schema):
    name: Annotated[str, Field(min_length=1, max_length=100)]


class TOTPCode(Schema):
    code: Annotated[str, Field(min_length=6, max_length=10)]


class PasswordConfirm(Schema):
    password: Annotated[str, Field(min_length=1, max_length=256)]
    otp: Annotated[str | None, Field(max_length=10)] = None


class UserBrief(ReadSchema):
    id: Id
    username: str
    display_name: str
    avatar_url: str | None = None


class UserRead(UserBrief):
    bio: str
    read_languages: list[str]
    write_languages: list[str]
    region: str | None
    follower_count: int
    following_count: int
    note_count: int
    likes_received: int
    likes_public: bool = False
    created_at: dt.datetime
    is_following: bool = False
    follows_you: bool = False
    is_muted: bool = False
    is_blocked: bool = False


class MeRead(UserRead):
    email: str | None
    ui_language: str
    interests: list[str]
    role: str
    state: str
    totp_enabled: bool


class SessionRead(ReadSchema):
    user: MeRead
    csrf_token: str | None = None
    token: str | None = Field(default=None, description="the API token, shown only once")


class TokenRead(ReadSchema):
    id: Id
    name: str
    kind: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None


class TokenCreated(TokenRead):
    token: str


class TOTPSetup(ReadSchema):
    secret: str
    otpauth_uri: str


class ExportRead(ReadSchema):
    id: Id
    state: str
    size_bytes: int | None
    error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    download_url: str | None = None

    @field_validator("error")
    @classmethod
    def _short(cls, value: str | None) -> str | None:
        return value[:500] if value else value
