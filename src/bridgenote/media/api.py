"""Upload status, authorised image and file delivery, subtitle tracks.

Uploading itself is ``POST /api/v1/media`` (routed by notes, checked by
:func:`service.accept_upload`); ``DELETE /api/v1/media/{id}`` removes an unattached
upload. Variant files live under public, content-addressed URLs (``/media/m/...`` or the
bucket) with a year-long ``immutable`` cache header; these routes decide *which* file a
viewer may have and point there.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from fastapi.responses import RedirectResponse, StreamingResponse

from bridgenote.core.schemas import OK, ErrorResponse, IdPath
from bridgenote.core.web import RuntimeDep, SessionDep, TransactionalRoute, UserDep, ViewerDep
from bridgenote.media import service
from bridgenote.media.schemas import MediaStatusRead, SubtitleCreate, SubtitleRead

ERRORS: dict[int | str, dict[str, object]] = {code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409, 422)}
router = APIRouter(prefix="/api/v1", route_class=TransactionalRoute, responses=ERRORS, tags=["media"])

# Per viewer (authorisation decided it), short, and different per Accept header.
REDIRECT_HEADERS = {"Cache-Control": "private, max-age=300", "Vary": "Accept, Authorization, Cookie"}


@router.get("/media/{media_id}", response_model=MediaStatusRead)
async def get_media(media_id: IdPath, viewer: ViewerDep, session: SessionDep, runtime: RuntimeDep) -> MediaStatusRead:
    """An upload with its processing state and progress (the author polls this), variants,
    poster, HLS and subtitle tracks. Others see it only on a note they may see."""
    data = await service.media_status(session, storage=runtime.storage, viewer=viewer, media_id=media_id)
    return MediaStatusRead.model_validate(data)


@router.get(
    "/media/{media_id}/image",
    status_code=status.HTTP_302_FOUND,
    response_class=RedirectResponse,
    responses={
        302: {
            "description": "Redirect to the best variant for the Accept header",
            "headers": {"Location": {"description": "URL of the variant", "schema": {"type": "string"}}},
        }
    },
)
async def get_image(
    media_id: IdPath,
    viewer: ViewerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    w: Annotated[int, Query(ge=1, le=4096, description="display width in device pixels")] = 720,
    accept: Annotated[str, Header()] = "",
) -> RedirectResponse:
    """Redirect to the best variant for the ``Accept`` header (AVIF, WebP, then JPEG) and width."""
    key, _variant = await service.image_for(session, viewer=viewer, media_id=media_id, accept=accept, width=w)
    return RedirectResponse(runtime.storage.url(key), status_code=status.HTTP_302_FOUND, headers=REDIRECT_HEADERS)


@router.get(
    "/media/{media_id}/original",
    response_class=Response,
    responses={
        200: {
            "description": "The stored upload",
            "content": {
                "image/*": {"schema": {"type": "string", "format": "binary"}},
                "video/*": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def get_original(media_id: IdPath, viewer: UserDep, session: SessionDep, runtime: RuntimeDep) -> Response:
    """The stored upload, for its owner only (for example a video still being processed)."""
    body, content_type = await service.original_file(session, storage=runtime.storage, viewer=viewer, media_id=media_id)
    headers = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
    return StreamingResponse(body, media_type=content_type, headers=headers)


@router.delete("/media/{media_id}", response_model=OK)
async def delete_media(media_id: IdPath, viewer: UserDep, session: SessionDep) -> OK:
    """Delete an upload that is on no note (delete the note to remove its photos or video).
    Its files (master, variants, poster, HLS, subtitles, a kept original) are removed
    after commit, except files another upload still uses."""
    await service.delete_upload(session, viewer=viewer, media_id=media_id)
    return OK()


@router.put("/media/{media_id}/subtitles", response_model=SubtitleRead)
async def put_subtitles(
    media_id: IdPath, data: SubtitleCreate, viewer: UserDep, session: SessionDep, runtime: RuntimeDep
) -> SubtitleRead:
    """Add or replace the author's subtitle track in one language (SRT or WebVTT; stored as
    sanitised WebVTT). A bilingual track (each line over its machine translation) into each
    other site language follows in the background, as its own track (``source: translation``)."""
    track = await service.add_subtitles(session, runtime=runtime, viewer=viewer, media_id=media_id, data=data)
    return SubtitleRead.model_validate(
        {
            "id": track.id,
            "language": track.language,
            "label": track.label,
            "source": track.source,
            "url": runtime.storage.url(track.storage_key),
        }
    )


@router.delete("/media/{media_id}/subtitles/{language}", response_model=OK)
async def delete_subtitles(
    media_id: IdPath, language: str, viewer: UserDep, session: SessionDep, runtime: RuntimeDep
) -> OK:
    """Delete the author's track in one language, and the machine-translated tracks made from it."""
    await service.delete_subtitles(session, viewer=viewer, media_id=media_id, language=language, runtime=runtime)
    return OK()
