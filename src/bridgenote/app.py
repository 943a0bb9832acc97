"""``create_app()``: the whole program behind one ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select, text
from threadpoolctl import threadpool_limits

from bridgenote import __version__, registry
from bridgenote.accounts import service as accounts_service
from bridgenote.config import Settings, get_settings
from bridgenote.core import metrics
from bridgenote.core.errors import NotFound
from bridgenote.core.jobs import Job, Worker, queue_depths
from bridgenote.core.runtime import Runtime
from bridgenote.core.storage import LocalStorage
from bridgenote.core.web import LanguageMiddleware, error_json, install_error_handlers
from bridgenote.web import pages as web_pages

log = logging.getLogger(__name__)

# Only these storage prefixes are public; exports and other private files are served
# by authorised endpoints instead.
PUBLIC_MEDIA_PREFIXES = ("m/", "a/")


async def _flush_views_until(runtime: Runtime, stop: asyncio.Event, *, every: float) -> None:
    """Write this process's buffered view counts every ``every`` seconds until ``stop`` is set."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
        try:
            await runtime.flush_periodic()
        except Exception:
            log.exception("could not flush view counters")


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or get_settings()
    runtime = runtime or Runtime.create(settings)
    registry.load_tasks()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Requests do small matrix-vector products (Discover's pool against an interest
        # vector); a multi-threaded BLAS spends more waking threads than computing, and its
        # spinning threads take the cores other requests need (ADR 0012).
        blas = threadpool_limits(limits=1, user_api="blas")
        stop = asyncio.Event()
        if settings.run_worker_in_process:
            worker = Worker.from_settings(runtime.db, runtime, settings)
            background = asyncio.create_task(worker.run_forever(stop), name="bridgenote-worker")
        else:
            # The worker loop is what flushes buffered view counts; without it in this
            # process (the scale tier), this process must flush its own buffer.
            background = asyncio.create_task(
                _flush_views_until(runtime, stop, every=settings.view_flush_seconds), name="bridgenote-view-flush"
            )
        if settings.gc_freeze_at_start:
            gc.freeze()
        try:
            yield
        finally:
            stop.set()
            await background
            try:
                # Discover's pool rebuild and card warming, search's pending log writes: done or
                # cancelled before the connections they use are closed.
                await registry.close_for(runtime)
            finally:
                await runtime.close()
                blas.restore_original_limits()

    app = FastAPI(
        title="Bridgenote API",
        version=__version__,
        summary="Notes, boards, comments and follows across Chinese and English.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.settings = settings
    app.state.authenticate = accounts_service.authenticate
    install_error_handlers(app)
    app.add_middleware(LanguageMiddleware)
    app.add_middleware(metrics.MetricsMiddleware)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        try:
            async with runtime.db.transaction(write=False) as session:
                await session.execute(text("SELECT 1"))
            if runtime.redis is not None:
                await runtime.redis.ping()
        except Exception as exc:
            log.warning("not ready: %s", exc)
            return error_json(503, "not_ready", "dependencies are not reachable")
        return Response('{"status":"ready"}', media_type="application/json")

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        async with runtime.db.transaction(write=False) as session:
            depths = await queue_depths(session)
            failed = await session.scalar(select(func.count()).select_from(Job).where(Job.state == "failed"))
        metrics.QUEUE_DEPTH.clear()
        for queue in ("interactive", "default", "backfill"):
            metrics.QUEUE_DEPTH.labels(queue).set(depths.get(queue, 0))
        metrics.FAILED_JOBS.set(failed or 0)
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/media/{key:path}", include_in_schema=False)
    async def media(key: str, request: Request) -> Response:
        storage = runtime.storage
        if not key.startswith(PUBLIC_MEDIA_PREFIXES) or not isinstance(storage, LocalStorage):
            raise NotFound()
        path = storage.path(key)
        if not path.is_file():
            raise NotFound()
        # Keys are content-addressed, so a file never changes under its name.
        headers: dict[str, Any] = {"Cache-Control": "public, max-age=31536000, immutable"}
        return FileResponse(path, headers=headers)

    # After the probes above, which load balancers call every few seconds: matching is in order.
    for router in registry.api_routers():
        app.include_router(router)  # type: ignore[arg-type]
    # The web app: pages from each domain's views.py, Discover at "/".
    web_pages.install(app, registry.view_routers())
    return app
