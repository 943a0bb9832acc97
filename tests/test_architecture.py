"""The import and transaction rules of docs/architecture.md, checked on the source.

* core never imports a domain;
* a domain reaches another domain only through its ``service`` module (or its
  ``schemas``, the shapes of its public objects), never its models, policy,
  tasks or api;
* nothing but the transaction edge in ``core/db.py`` (and Alembic's env) commits.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "bridgenote"
NOT_DOMAINS = {"core", "web", "migrations", "seed_data"}
DOMAINS = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()} - NOT_DOMAINS
PUBLIC_MODULES = {"service", "schemas"}
MAY_COMMIT = {"core/db.py", "migrations/env.py"}


def modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def imported_names(tree: ast.Module) -> Iterator[tuple[int, list[str]]]:
    """Every imported dotted name, split (``from a.b import c`` gives ``a.b.c``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield node.lineno, [*node.module.split("."), alias.name]


def test_the_domains_are_found() -> None:
    assert {"accounts", "notes", "notifications"} <= DOMAINS


def test_core_imports_no_domain() -> None:
    offences = [
        f"{path}:{line} imports {'.'.join(name)}"
        for path, tree in modules()
        if path.startswith("core/")
        for line, name in imported_names(tree)
        if name[0] == "bridgenote" and len(name) > 1 and name[1] not in NOT_DOMAINS | {"config"}
    ]
    assert not offences, "\n".join(offences)


def test_domains_use_each_other_only_through_service() -> None:
    offences = []
    for path, tree in modules():
        owner = path.split("/")[0]
        if owner not in DOMAINS:
            continue
        for line, name in imported_names(tree):
            if name[0] != "bridgenote" or len(name) < 2 or name[1] not in DOMAINS or name[1] == owner:
                continue
            if len(name) < 3 or name[2] not in PUBLIC_MODULES:
                offences.append(f"{path}:{line} imports {'.'.join(name)}")
    assert not offences, "\n".join(offences)


def test_only_the_transaction_edge_commits() -> None:
    offences = [
        f"{path}:{node.lineno}"
        for path, tree in modules()
        if path not in MAY_COMMIT
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit"
    ]
    assert not offences, "application code must not commit:\n" + "\n".join(offences)
