"""The ``bridgenote models`` command (wired into ``bridgenote.cli``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bridgenote.config import Settings, get_settings
from bridgenote.translation import install
from bridgenote.translation.catalog import MODELS, get_spec


def models_dir(settings: Settings) -> Path:
    return settings.translation.models_dir or settings.var_dir / "models"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = sub.add_parser("models", help="install and list the local translation models")
    actions = models.add_subparsers(dest="action", required=True)
    add = actions.add_parser("install", help="download, assemble and verify a model (no-op when installed)")
    add.add_argument("--model", default=None, help=f"one of {', '.join(MODELS)} or 'all' (default: the configured one)")
    add.add_argument("--force", action="store_true", help="reinstall even if a verified copy exists")
    add.add_argument("--dir", type=Path, default=None, help="install here instead of the configured models_dir")
    add.set_defaults(func=_install)
    listing = actions.add_parser("list", help="show the catalog and what is installed")
    listing.add_argument("--dir", type=Path, default=None)
    listing.set_defaults(func=_list)


def _install(args: argparse.Namespace) -> None:
    settings = get_settings()
    where = args.dir or models_dir(settings)
    names = list(MODELS) if args.model == "all" else [args.model or settings.translation.model]
    for name in names:
        try:
            spec = get_spec(name)
        except LookupError as exc:
            sys.exit(str(exc))
        if not args.force and install.model_state(spec, where) == "ready":
            sys.stdout.write(f"model {name!r} is installed: {spec.path(where)}" + "\n")
            continue
        bar = install.ProgressBar(f"{name} ({spec.title})")
        try:
            path = install.install(spec, where, force=args.force, progress=bar)
        except install.InstallError as exc:
            bar.finish()
            sys.exit(f"error: {exc}")
        bar.finish()
        sys.stdout.write(f"model {name!r} installed and verified (sha256 {spec.sha256}): {path}" + "\n")


def _list(args: argparse.Namespace) -> None:
    where = args.dir or models_dir(get_settings())
    for spec in MODELS.values():
        state = install.model_state(spec, where)
        sys.stdout.write(f"{spec.name:8} {state:10} {spec.title}  ({spec.path(where)})\n")
