"""Imports every domain's models so that Alembic and tests see the whole schema."""

from bridgenote.accounts import models as accounts_models
from bridgenote.core import jobs as core_jobs
from bridgenote.core.db import Base
from bridgenote.notes import models as notes_models
from bridgenote.notifications import models as notifications_models

__all__ = ["Base", "accounts_models", "core_jobs", "notes_models", "notifications_models"]
