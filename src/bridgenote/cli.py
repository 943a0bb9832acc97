"""``bridgenote`` command line: serve, worker, migrate, seed, jobs, models."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys

from bridgenote.config import get_settings


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    uvicorn.run(
        "bridgenote.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=not args.no_access_log,
        loop=args.loop,
    )


def _migrate(_args: argparse.Namespace) -> None:
    from bridgenote import migrate

    migrate.upgrade(get_settings().database_url)
    print("database is up to date")


def _worker(args: argparse.Namespace) -> None:
    from bridgenote import registry
    from bridgenote.core.jobs import Worker
    from bridgenote.core.runtime import Runtime

    settings = get_settings()
    registry.load_tasks()

    async def main() -> None:
        runtime = Runtime.create(settings)
        if settings.gc_freeze_at_start:
            gc.freeze()  # as the web process does (ADR 0015)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        queues = tuple(args.queue) if args.queue else None
        worker = Worker.from_settings(runtime.db, runtime, settings, queues=queues)
        try:
            if args.drain:
                ran = await worker.drain()
                print(f"ran {ran} jobs")
            else:
                await worker.run_forever(stop)
        finally:
            await runtime.close()

    asyncio.run(main())


def _seed(args: argparse.Namespace) -> None:
    from bridgenote.seed import run_seed

    asyncio.run(run_seed(get_settings(), users=args.users, notes=args.notes, force=args.force))


def _reindex(args: argparse.Namespace) -> None:
    from bridgenote.search.commands import run_reindex

    run_reindex(get_settings(), embed=not args.no_embed, batch=args.batch)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="bridgenote")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web server (and the in-process worker)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--no-access-log", action="store_true")
    serve.add_argument(
        "--loop",
        choices=("asyncio", "uvloop"),
        default="asyncio",
        help="event loop: asyncio serves connections in turn; uvloop serves more requests per "
        "second but, overloaded, leaves some connections waiting for seconds (ADR 0013)",
    )
    serve.set_defaults(func=_serve)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=_migrate)

    worker = sub.add_parser("worker", help="run background jobs in this process")
    worker.add_argument("--queue", action="append", help="only these queues (repeatable)")
    worker.add_argument("--drain", action="store_true", help="run what is ready, then exit")
    worker.set_defaults(func=_worker)

    seed = sub.add_parser("seed", help="load the bilingual demo data")
    seed.add_argument("--users", type=int, default=36)
    seed.add_argument("--notes", type=int, default=300)
    seed.add_argument("--force", action="store_true", help="seed even if the database has users")
    seed.set_defaults(func=_seed)

    reindex = sub.add_parser("reindex", help="rebuild the search index online (search keeps answering)")
    reindex.add_argument("--no-embed", action="store_true", help="keyword documents only; keep stored vectors")
    reindex.add_argument("--batch", type=int, default=500)
    reindex.set_defaults(func=_reindex)

    from bridgenote.translation import commands as translation_commands

    translation_commands.add_parser(sub)

    from bridgenote.feed import commands as feed_commands

    feed_commands.add_parser(sub)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main(sys.argv[1:])
