"""One settings object for the whole program (environment prefix ``BRIDGENOTE_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RateLimit(BaseSettings):
    """``limit`` hits per ``window`` seconds."""

    limit: int
    window: int


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BRIDGENOTE_", env_nested_delimiter="__")

    database_url: str = "sqlite+aiosqlite:///var/bridgenote.db"
    redis_url: str | None = None
    var_dir: Path = Path("var")
    media_dir: Path | None = None
    secret_key: str = "dev-insecure-change-me"
    site_name: str = "Bridgenote"
    site_languages: list[str] = Field(default_factory=lambda: ["en", "zh-Hans"])
    default_ui_language: str = "en"
    cookie_secure: bool = False
    session_days: int = 30
    # The embedded tier runs the job worker inside the web process.
    run_worker_in_process: bool = True
    worker_poll_seconds: float = 1.0
    job_lease_seconds: int = 300
    # The 10-bit worker field of generated ids (0-1023). Unset: derived from the process
    # id, which is enough on one machine; give every process a distinct one across hosts.
    worker_id: int | None = Field(default=None, ge=0, le=1023)
    # How often a web process without the in-process worker writes its buffered view counts.
    view_flush_seconds: float = 5.0

    max_upload_bytes: int = 20 * 1024 * 1024
    max_video_bytes: int = 200 * 1024 * 1024
    max_images_per_note: int = 18
    max_note_body: int = 1000
    max_note_title: int = 100
    max_comment_body: int = 1000

    ratelimit_signup: RateLimit = RateLimit(limit=10, window=3600)
    ratelimit_login: RateLimit = RateLimit(limit=20, window=300)
    ratelimit_post: RateLimit = RateLimit(limit=30, window=3600)
    ratelimit_comment: RateLimit = RateLimit(limit=60, window=600)
    ratelimit_like: RateLimit = RateLimit(limit=300, window=600)
    ratelimit_enabled: bool = True

    @property
    def media_root(self) -> Path:
        return self.media_dir or self.var_dir / "media"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
