"""Who may see which accounts."""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridgenote.accounts.models import Block
from bridgenote.core.auth import Viewer


async def can_view_profile(session: AsyncSession, *, viewer: Viewer, user_id: int) -> bool:
    """Everyone sees a profile unless one of the two has blocked the other."""
    if viewer.id is None or viewer.id == user_id:
        return True
    blocked = await session.scalar(
        select(
            exists().where(
                or_(
                    (Block.blocker_id == viewer.id) & (Block.blocked_id == user_id),
                    (Block.blocker_id == user_id) & (Block.blocked_id == viewer.id),
                )
            )
        )
    )
    return not blocked
