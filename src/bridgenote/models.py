"""Imports every domain's models so that Alembic and tests see the whole schema."""

from bridgenote.accounts import models as accounts_models
from bridgenote.core import jobs as core_jobs
from bridgenote.core.db import Base
from bridgenote.feed import models as feed_models
from bridgenote.media import models as media_models
from bridgenote.moderation import models as moderation_models
from bridgenote.notes import models as notes_models
from bridgenote.notifications import models as notifications_models
from bridgenote.search import models as search_models
from bridgenote.translation import models as translation_models

__all__ = [
    "Base",
    "accounts_models",
    "core_jobs",
    "feed_models",
    "media_models",
    "moderation_models",
    "notes_models",
    "notifications_models",
    "search_models",
    "translation_models",
]
