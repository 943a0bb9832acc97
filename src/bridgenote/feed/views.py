"""Discover's controls on the web: "Not interested" and "More like this" on a card.

The Discover page itself is rendered with the other note grids in ``notes/views.py``,
which asks this domain's ``service.discover`` / ``nearby`` / ``following`` for its notes.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from bridgenote.core import i18n
from bridgenote.core.errors import BadRequest
from bridgenote.core.web import SessionDep
from bridgenote.feed import service
from bridgenote.web.routing import PageUser, form_data, is_htmx, redirect, views_router
from bridgenote.web.templating import render

router = views_router()

WEB_FEEDBACK = ("not_interested", "more_like_this")
THANKS = {
    "not_interested": i18n.N_("Got it: you will see fewer notes like this."),
    "more_like_this": i18n.N_("Got it: you will see more notes like this."),
}


@router.post("/discover/feedback")
async def feedback(request: Request, viewer: PageUser, session: SessionDep) -> Response:
    form = await form_data(request)
    kind = str(form.get("kind") or "")
    raw_id = str(form.get("note_id") or "")
    if kind not in WEB_FEEDBACK or not raw_id.isdigit() or len(raw_id) > 19:
        raise BadRequest("Choose a note and what you think of it.", code="invalid_feedback")
    await service.feedback(session, viewer=viewer, note_id=int(raw_id), kind=kind)
    if not is_htmx(request):
        return redirect(request, "/")
    # "Not interested" replaces the card with this acknowledgement; "More like this" is a toast.
    template = "feed/_dismissed.html" if kind == "not_interested" else "_toast.html"
    return await render(request, template, {"message": i18n.gettext(THANKS[kind])}, viewer=viewer)


@router.post("/settings/discover")
async def save_settings(request: Request, viewer: PageUser, session: SessionDep) -> Response:
    form = await form_data(request)
    raw = str(form.get("other_language_share") or "").strip()
    try:
        share = float(raw) if raw else None
    except ValueError:
        raise BadRequest("Choose how many notes in other languages to see.", code="invalid_language_mix") from None
    await service.update_settings(session, viewer=viewer, other_language_share=share)
    return redirect(request, "/settings?saved=discover#discover")


__all__ = ["router"]
