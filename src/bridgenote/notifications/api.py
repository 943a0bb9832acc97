from __future__ import annotations

from fastapi import APIRouter

from bridgenote.core.web import TransactionalRoute

router = APIRouter(prefix="/api/v1", route_class=TransactionalRoute)
