"""One settings object for the whole program (environment prefix ``BRIDGENOTE_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RateLimit(BaseSettings):
    """``limit`` hits per ``window`` seconds."""

    limit: int
    window: int


class TranslationSettings(BaseModel):
    """Machine translation (``BRIDGENOTE_TRANSLATION__PROVIDER=openai`` and so on); see docs/translation.md."""

    # llamacpp (embedded default) | openai | ctranslate2 | libretranslate | none
    provider: str = "llamacpp"
    # llamacpp: a name from translation/catalog.py, installed by ``bridgenote models install``.
    model: str = "default"
    models_dir: Path | None = None  # default: <var_dir>/models
    threads: int | None = None
    context_tokens: int = 2048
    # openai: any OpenAI-compatible chat endpoint (base URL ending in /v1).
    openai_url: str = "http://127.0.0.1:8080/v1"
    openai_model: str = "default"
    openai_api_key: str | None = None
    # libretranslate: the HTTP API Mastodon also uses.
    libretranslate_url: str = "http://127.0.0.1:5000"
    libretranslate_api_key: str | None = None
    # ctranslate2: a converted model directory with a SentencePiece model per direction.
    ctranslate2_dir: Path | None = None
    timeout_seconds: float = 60.0
    # Notes are translated into these languages after posting (backfill queue).
    eager_notes: bool = True
    max_chunk_chars: int = 400
    max_text_chars: int = 20_000


class StorageSettings(BaseModel):
    """Where files live (``BRIDGENOTE_STORAGE__BACKEND=s3`` and so on); see docs/media.md."""

    backend: str = "local"  # local (under media_root) | s3 (any S3-compatible object store)
    s3_bucket: str = ""
    s3_endpoint_url: str | None = None  # None: AWS; else MinIO, Ceph, R2, ...
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_prefix: str = ""  # key prefix inside the bucket
    # Public base URL of the bucket or its CDN, for the public prefixes (m/, a/).
    s3_public_url: str = ""


class MediaSettings(BaseModel):
    """The media pipeline (``BRIDGENOTE_MEDIA__KEEP_ORIGINAL=true`` and so on); see docs/media.md."""

    # Keep the untouched upload (with its metadata) in private storage besides the clean master.
    keep_original: bool = False
    image_widths: list[int] = Field(default_factory=lambda: [360, 720, 1080])
    avif_quality: int = 60
    avif_speed: int = 9  # measured in bench/media.py: see core.images.VariantSettings
    webp_quality: int = 83
    jpeg_quality: int = 82
    max_video_seconds: float = 60.0
    video_max_height: int = 720  # on the short side; portrait videos keep their sharpness
    hls_heights: list[int] = Field(default_factory=lambda: [720, 480, 360])
    video_crf: int = 23
    video_preset: str = "veryfast"
    max_subtitle_bytes: int = 256 * 1024
    max_subtitle_tracks: int = 12


class ModerationSettings(BaseModel):
    """Trust and safety (``BRIDGENOTE_MODERATION__SCREEN_IMAGES=false`` and so on); see docs/moderation.md."""

    screen_images: bool = True
    # Accounts younger than this are "new" for the surge switches (slow mode, link limits, extra screening).
    new_account_days: int = 7
    # Behaviour rules: more posts than this in the window is a burst; this many near-copies
    # (MinHash Jaccard >= flood_similarity, texts of flood_min_chars or more) is a flood.
    velocity_window_seconds: int = 600
    velocity_limit: int = 30
    flood_window_seconds: int = 3600
    flood_similarity: float = 0.8
    flood_count: int = 5
    flood_min_chars: int = 20
    # Strikes expire; enough active ones limit, then suspend, the account.
    strike_days: int = 90
    strikes_to_limit: int = 3
    strikes_to_suspend: int = 5
    appeal_days: int = 30


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
    # Workers delete finished jobs after this long (kept meanwhile for inspection and for the
    # translation status a pending request reports); a failed job also frees its dedupe key,
    # so the same work can be asked for again.
    job_keep_done_days: float = Field(default=7.0, gt=0)
    job_keep_failed_days: float = Field(default=30.0, gt=0)
    # The 10-bit worker field of generated ids (0-1023). Unset: derived from the process
    # id, which is enough on one machine; give every process a distinct one across hosts.
    worker_id: int | None = Field(default=None, ge=0, le=1023)
    # How often a web process without the in-process worker writes its buffered view counts.
    view_flush_seconds: float = 5.0
    # Discover falls back to cached pool order while requests find the event loop this many
    # seconds late (a surge queueing in front of the app); 0 turns that trigger off.
    feed_shed_lag_seconds: float = Field(default=0.1, ge=0)
    # Move what exists once a process has started (modules, the app, its runtime: about
    # 400k objects) out of the cyclic collector's reach (``gc.freeze``), so that a full
    # collection scans only what came later: 165-220 ms pauses became about 50 ms (ADR 0015).
    gc_freeze_at_start: bool = True

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
    ratelimit_translate: RateLimit = RateLimit(limit=120, window=600)
    # An archive copies all of an account's photos and videos: a few a day is plenty.
    ratelimit_export: RateLimit = RateLimit(limit=3, window=86400)

    translation: TranslationSettings = Field(default_factory=TranslationSettings)
    media: MediaSettings = Field(default_factory=MediaSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    moderation: ModerationSettings = Field(default_factory=ModerationSettings)

    @property
    def media_root(self) -> Path:
        return self.media_dir or self.var_dir / "media"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
