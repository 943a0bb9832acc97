"""Extract every user-visible message id and update the gettext catalogs (``make messages``).

Two sources of message ids:

* gettext calls (``_``, ``gettext``, ``ngettext``, and ``N_`` markers), found by
  Babel's Python extractor with the mapping in ``babel.cfg``;
* error messages, which are plain string literals that Babel cannot see: the
  first argument (or ``message=``) of a call to an ``AppError`` subclass
  (``NotFound("...")``, ``Conflict("...", code=...)``), and ``message = "..."``
  class attributes of ``AppError`` subclasses. They are found with an AST walk.

The result is written to ``web/locale/messages.pot``; the ``en`` and ``zh_Hans``
catalogs are then updated from it (new ids are added untranslated, ids no longer
in the source are dropped). ``en`` stays untranslated on purpose: the source
text is English. Run with ``--check`` to only report, exiting 1 when a catalog
is out of date or a Chinese translation is missing.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import datetime as dt
import io
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "bridgenote"
LOCALE_DIR = PACKAGE / "web" / "locale"
TEMPLATE = LOCALE_DIR / "messages.pot"
LOCALES = ("en", "zh_Hans")
# A fixed header date keeps the generated files byte-identical between runs.
HEADER_DATE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
TEAM = "Bridgenote contributors"

GETTEXT_KEYWORDS: dict[str, tuple[int, ...] | None] = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
ERROR_SUFFIXES = (
    "Error",
    "NotFound",
    "Forbidden",
    "Conflict",
    "BadRequest",
    "Unauthorized",
    "PayloadTooLarge",
    "UnsupportedMedia",
    "RateLimited",
    "ServiceUnavailable",
    "ValidationFailed",
)
# ValueError("...") and friends are not AppErrors: their text never reaches gettext.
BUILTIN_EXCEPTIONS = frozenset(
    name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)
)


@dataclass(frozen=True)
class Message:
    msgid: str | tuple[str, str]
    path: str  # relative to the repository root
    lineno: int


def _callee_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def class_bases(source: str) -> dict[str, set[str]]:
    """``class Name(Base, ...)`` in a module: name -> base names."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            found.setdefault(node.name, set()).update(b for b in map(_callee_name, node.bases) if b)
    return found


# Classes defined in the package (filled by ``collect``): a class whose bases lead only to
# built-in exceptions (an operator's ``InstallError(Exception)``) is not an AppError, even
# though its name ends like one, and its messages are not user-visible.
KNOWN_CLASSES: dict[str, set[str]] = {}


def is_error_class_name(name: str, _seen: frozenset[str] = frozenset()) -> bool:
    if name == "AppError":
        return True
    if name in BUILTIN_EXCEPTIONS or name in _seen:
        return False
    bases = KNOWN_CLASSES.get(name)
    if bases:
        return any(is_error_class_name(base, _seen | {name}) for base in bases)
    return name.endswith(ERROR_SUFFIXES)


def _literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
        return node.value
    return None


def error_messages(source: str, path: str) -> Iterator[Message]:
    """Message ids given to AppError subclasses in one module (see the module docstring)."""
    tree = ast.parse(source, filename=path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _callee_name(node.func)
            if name is None or not is_error_class_name(name):
                continue
            candidates = [node.args[0]] if node.args else []
            candidates += [kw.value for kw in node.keywords if kw.arg == "message"]
            for arg in candidates:
                if isinstance(arg, ast.JoinedStr):
                    raise SystemExit(
                        f"{path}:{arg.lineno}: an f-string passed to {name}() cannot be translated; "
                        "use a literal with {placeholders} and pass the values as keyword arguments"
                    )
                text = _literal(arg)
                if text is not None:
                    yield Message(text, path, arg.lineno)
        elif isinstance(node, ast.ClassDef):
            bases = {_callee_name(base) for base in node.bases}
            if node.name != "AppError" and not any(b and is_error_class_name(b) for b in bases):
                continue
            for statement in node.body:
                if isinstance(statement, ast.Assign):
                    targets = [t.id for t in statement.targets if isinstance(t, ast.Name)]
                    value: ast.expr | None = statement.value
                elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                    targets, value = [statement.target.id], statement.value
                else:
                    continue
                text = _literal(value)
                if "message" in targets and text is not None:
                    yield Message(text, path, statement.lineno)


def gettext_messages() -> Iterator[Message]:
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh, "babel.cfg")  # type: ignore[no-untyped-call]
    for filename, lineno, msgid, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=GETTEXT_KEYWORDS
    ):
        if isinstance(msgid, tuple):
            singular, plural = msgid[0], msgid[1]
            if singular and plural:
                yield Message((singular, plural), filename, lineno)
        elif msgid:
            yield Message(msgid, filename, lineno)


def collect() -> list[Message]:
    """Every message id in the package, gettext calls and error messages together."""
    found = list(gettext_messages())
    files = sorted(PACKAGE.rglob("*.py"))
    sources = {file: file.read_text(encoding="utf-8") for file in files}
    KNOWN_CLASSES.clear()
    for source in sources.values():
        for name, bases in class_bases(source).items():
            KNOWN_CLASSES.setdefault(name, set()).update(bases)
    for file, source in sources.items():
        found.extend(error_messages(source, file.relative_to(ROOT).as_posix()))
    return found


def _headers(catalog: Catalog) -> Catalog:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        catalog.version = tomllib.load(fh)["project"]["version"]
    catalog.project = "Bridgenote"
    catalog.copyright_holder = catalog.last_translator = catalog.language_team = TEAM
    catalog.msgid_bugs_address = ""
    # Babel fills in PROJECT and turns "Translations template" into "<Language> translations".
    catalog.header_comment = (
        "# Translations template for PROJECT.\n"
        "# Generated by `make messages` (scripts/extract_messages.py); translators edit msgstr only."
    )
    catalog.creation_date = catalog.revision_date = HEADER_DATE
    catalog.fuzzy = False
    return catalog


def build_template(messages: list[Message]) -> Catalog:
    template = _headers(Catalog(charset="utf-8"))
    for message in messages:
        template.add(message.msgid, locations=[(message.path, None)])  # type: ignore[list-item]  # no line numbers in the .pot
    return template


def render(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, sort_output=True, include_lineno=False, ignore_obsolete=True)
    return buffer.getvalue()


def updated_catalog(template: Catalog, locale: str) -> Catalog:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if path.exists():
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
    else:
        catalog = Catalog(locale=locale)
    # No fuzzy matching: a near-miss guess is worse than an empty entry that the tests catch.
    catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
    return _headers(catalog)


def untranslated(catalog: Catalog) -> list[str]:
    missing = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything is out of date")
    args = parser.parse_args(argv)

    template = build_template(collect())
    catalogs = {locale: updated_catalog(template, locale) for locale in LOCALES}
    outputs = {TEMPLATE: render(template)}
    for locale, catalog in catalogs.items():
        outputs[LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"] = render(catalog)

    stale = [path for path, data in outputs.items() if not path.exists() or path.read_bytes() != data]
    missing = untranslated(catalogs["zh_Hans"])
    print(f"{len(template)} message ids")
    for path in stale:
        print(f"{'out of date' if args.check else 'updated'}: {path.relative_to(ROOT)}")
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(outputs[path])
    if missing:
        print(f"zh_Hans is missing {len(missing)} translation(s):")
        for msgid in missing:
            print(f"  {msgid!r}")
    return 1 if args.check and (stale or missing) else 0


if __name__ == "__main__":
    sys.exit(main())
