from __future__ import annotations

from argon2.low_level import Type

from bridgenote.core import security


async def test_production_hasher_is_argon2id_with_rfc9106_low_memory_cost() -> None:
    hasher = security.PRODUCTION_HASHER
    assert hasher.type is Type.ID
    assert hasher.memory_cost >= 64 * 1024 and hasher.time_cost >= 3
    digest = hasher.hash("s3cret-pass")
    assert digest.startswith("$argon2id$")


async def test_hash_and_verify_round_trip() -> None:
    digest = await security.hash_password("s3cret-pass")
    assert digest.startswith("$argon2id$")
    assert await security.verify_password(digest, "s3cret-pass")
    assert not await security.verify_password(digest, "wrong")
    assert not await security.verify_password(None, "s3cret-pass")
