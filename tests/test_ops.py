"""Operations endpoints and the error edge: health, readiness, metrics, OpenAPI, docs,
JSON errors for unknown paths and methods, and translated error messages."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from bridgenote.app import create_app
from bridgenote.core import i18n
from bridgenote.core.jobs import Job, enqueue
from bridgenote.core.runtime import Runtime
from bridgenote.core.web import SessionDep, TransactionalRoute
from bridgenote.notes import service as notes_service
from bridgenote.notes.schemas import NoteCreate
from tests.conftest import make_settings
from tests.factories import create_user, viewer

CJK = re.compile(r"[\u4e00-\u9fff]")


def _client(app: FastAPI, **kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, **kwargs), base_url="http://testserver")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket closes


@pytest.fixture
async def broken_app(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FastAPI]:
    overrides: dict[str, Any] = request.param(tmp_path)
    settings = make_settings(overrides.pop("database_url"), tmp_path, **overrides)
    runtime = Runtime.create(settings)
    yield create_app(settings, runtime=runtime)
    await runtime.close()
    # aiosqlite answers a failed connect by queueing a "stop" for its thread without awaiting it;
    # let that callback reach this loop before the test closes it.
    await asyncio.sleep(0.2)


def _sqlite_directory(tmp_path: Path) -> dict[str, Any]:
    folder = tmp_path / "a-directory.db"
    folder.mkdir()
    return {"database_url": f"sqlite+aiosqlite:///{folder}"}


def _postgres_closed_port(_tmp_path: Path) -> dict[str, Any]:
    return {"database_url": f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/nothing"}


def _redis_closed_port(tmp_path: Path) -> dict[str, Any]:
    return {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'ok.db'}",
        "redis_url": f"redis://127.0.0.1:{_closed_port()}/0",
    }


# ---------------------------------------------------------------- health and readiness


async def test_healthz(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_readyz(client: httpx.AsyncClient) -> None:
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready"}


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # see broken_app
@pytest.mark.parametrize(
    "broken_app",
    [_sqlite_directory, _postgres_closed_port, _redis_closed_port],
    ids=["sqlite-path-is-a-directory", "postgres-closed-port", "redis-closed-port"],
    indirect=True,
)
async def test_readyz_is_503_when_a_dependency_is_unreachable(broken_app: FastAPI) -> None:
    async with _client(broken_app, raise_app_exceptions=False) as c:
        r = await c.get("/readyz")
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "not_ready"
        # Liveness does not depend on the database.
        assert (await c.get("/healthz")).status_code == 200


# ---------------------------------------------------------------- metrics


def _samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    found = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found.append((dict(sample.labels), float(sample.value)))
    return found


async def test_metrics_use_route_templates_and_report_queue_depth(runtime: Runtime, client: httpx.AsyncClient) -> None:
    alice = await create_user(runtime)
    async with runtime.db.transaction() as session:
        note = await notes_service.create_note(session, viewer=viewer(alice), data=NoteCreate(title="metrics"))
        # Jobs in a queue nobody drains here, to see the gauge move.
        for n in range(3):
            await enqueue(session, "tests.ops.never_run", {"n": n})
        await enqueue(session, "tests.ops.never_run", {}, queue="backfill")
    before = await client.get("/metrics")
    baseline = {
        (s["method"], s["route"], s["status"]): v for s, v in _samples(before.text, "bridgenote_http_requests_total")
    }
    assert (await client.get(f"/api/v1/notes/{note.id}")).status_code == 200
    assert (await client.get("/api/v1/notes/999999999")).status_code == 404
    assert (await client.get("/no/such/path/12345")).status_code == 404

    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    requests = _samples(r.text, "bridgenote_http_requests_total")
    counts = {(s["method"], s["route"], s["status"]): v for s, v in requests}
    template = "/api/v1/notes/{note_id}"
    assert counts[("GET", template, "200")] - baseline.get(("GET", template, "200"), 0) == 1
    assert counts[("GET", template, "404")] - baseline.get(("GET", template, "404"), 0) == 1
    assert counts[("GET", "<unmatched>", "404")] >= 1
    routes = {s["route"] for s, _v in requests}
    assert not any(str(note.id) in route or "999999999" in route or "12345" in route for route in routes)
    assert any(s["route"] == template for s, _v in _samples(r.text, "bridgenote_http_request_duration_seconds_count"))

    depth = {s["queue"]: v for s, v in _samples(r.text, "bridgenote_job_queue_depth")}
    assert set(depth) == {"interactive", "default", "backfill"}
    # note.created may have enqueued subscriber jobs of its own in "default"; ours are on top.
    assert depth["default"] >= 3
    assert depth["backfill"] == 1
    assert [v for _s, v in _samples(r.text, "bridgenote_jobs_failed")] == [0]


# ---------------------------------------------------------------- OpenAPI and docs


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


# BUG (reported): the archive download documents no response body. Empty this set once it does.
KNOWN_UNTYPED_RESPONSES: set[str] = set()


async def test_openapi_document(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/openapi.json")
    assert r.status_code == 200
    spec = json.loads(r.text)
    assert spec["openapi"].startswith("3.")
    operations = [
        (method.upper(), path, op)
        for path, ops in spec["paths"].items()
        if path.startswith("/api/v1/")
        for method, op in ops.items()
    ]
    assert len(operations) >= 30
    untyped_responses = []
    untyped_params = []
    for method, path, op in operations:
        success = {code: resp for code, resp in op["responses"].items() if code.startswith("2")}
        schemas = [media.get("schema") for resp in success.values() for media in resp.get("content", {}).values()]
        redirect = [resp for code, resp in op["responses"].items() if code.startswith("3")]
        if not success and redirect and all("Location" in resp.get("headers", {}) for resp in redirect):
            pass  # a redirect has no body; its Location header is documented
        elif not success or not schemas or not all(schemas):
            untyped_responses.append(f"{method} {path}")
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        if declared != set(re.findall(r"{(\w+)", path)):
            untyped_params.append(f"{method} {path}: declared {sorted(declared)}")
        for param in op.get("parameters", []):
            schema = _resolve(spec, param.get("schema", {}))
            if param["in"] != "path":
                continue
            if schema.get("type") not in ("integer", "string"):
                untyped_params.append(f"{method} {path}: {param['name']} has no type")
            if param["name"].endswith("_id") and (
                schema.get("type") != "integer" or schema.get("minimum") != 1 or schema.get("maximum") != 2**63 - 1
            ):
                untyped_params.append(f"{method} {path}: {param['name']} is not a bounded 64-bit id")
        # Error responses are documented with the shared error body.
        for code, resp in op["responses"].items():
            if code.startswith("4"):
                schema = resp.get("content", {}).get("application/json", {}).get("schema", {})
                assert schema.get("$ref", "").endswith("/ErrorResponse"), f"{method} {path} {code}"
    assert untyped_params == []
    assert set(untyped_responses) == KNOWN_UNTYPED_RESPONSES


async def test_openapi_ids_in_bodies_are_strings(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/openapi.json")).json()
    note = spec["components"]["schemas"]["NoteRead"]["properties"]["id"]
    assert note["type"] == "string" and note["pattern"] == "^[0-9]{1,19}$"


async def test_docs_page_is_html(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "/api/openapi.json" in r.text


# ---------------------------------------------------------------- the error edge


def _assert_error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    error = r.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return dict(error)


async def test_unknown_path_is_a_json_404(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/nothing-here", "/api/v2/notes", "/api/v1/notes/1/nope"):
        error = _assert_error(await client.get(path), 404, "not_found")
        assert error["message"] == "We could not find that."
    # Outside /api the web app answers browsers with a page, JSON clients with JSON.
    page = await client.get("/nothing-here", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    _assert_error(await client.get("/nothing-here", headers={"Accept": "application/json"}), 404, "not_found")


async def test_wrong_method_is_a_json_405(client: httpx.AsyncClient) -> None:
    _assert_error(await client.put("/api/v1/notes"), 405, "method_not_allowed")
    _assert_error(await client.delete("/api/v1/feeds/latest"), 405, "method_not_allowed")
    _assert_error(await client.post("/healthz"), 405, "method_not_allowed")


async def test_wrong_method_names_the_allowed_ones(client: httpx.AsyncClient) -> None:
    r = await client.delete("/api/v1/feeds/latest")
    assert r.status_code == 405
    assert "GET" in r.headers.get("allow", "")


async def test_unexpected_errors_are_a_json_500_and_roll_back(app: FastAPI, runtime: Runtime) -> None:
    async def explode(session: SessionDep) -> None:
        await enqueue(session, "tests.ops.never_run", {"from": "explode"})
        await session.flush()
        raise RuntimeError("secret internals")

    app.router.routes.append(TransactionalRoute("/api/v1/tests/explode", explode, methods=["POST"]))
    async with _client(app, raise_app_exceptions=False) as c:
        r = await c.post("/api/v1/tests/explode")
    error = _assert_error(r, 500, "internal_error")
    assert "secret" not in r.text and "Traceback" not in r.text
    assert error["message"] == "Something went wrong on our side. Please try again."
    async with runtime.db.transaction(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Job)) == 0


# ---------------------------------------------------------------- translated errors


def _zh(message: str) -> str:
    translated = i18n.gettext(message, language="zh-Hans")
    # The zh_Hans catalog must carry these messages; an untranslated one falls back to English.
    assert translated != message and CJK.search(translated), f"no zh_Hans translation for {message!r}"
    return translated


async def test_error_messages_follow_accept_language(client: httpx.AsyncClient) -> None:
    zh = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
    error = _assert_error(await client.get("/api/v1/nothing-here", headers=zh), 404, "not_found")
    assert error["message"] == _zh("We could not find that.")
    error = _assert_error(
        await client.get("/api/v1/nothing-here", headers={"Accept-Language": "en-GB"}), 404, "not_found"
    )
    assert error["message"] == "We could not find that."
    error = _assert_error(await client.get("/api/v1/me", headers=zh), 401, "unauthorized")
    assert error["message"] == _zh("You need to log in first.")
    error = _assert_error(await client.post("/api/v1/auth/login", headers=zh, json=[]), 422, "validation_error")
    assert error["message"] == _zh("Some fields are not valid.")
    r = await client.post(
        "/api/v1/auth/login", headers={**zh, "Content-Type": "application/json"}, content=b'{"login": '
    )
    assert _assert_error(r, 400, "malformed_json")["message"] == _zh("The request body is not valid JSON.")
    assert _assert_error(await client.put("/api/v1/notes", headers=zh), 405, "method_not_allowed")["message"] == _zh(
        "That method is not allowed here."
    )
    # The bn_lang cookie and ?lang= choose too.
    error = _assert_error(await client.get("/api/v1/nothing-here?lang=zh-Hans"), 404, "not_found")
    assert error["message"] == _zh("We could not find that.")
    client.cookies.set("bn_lang", "zh-Hans")
    error = _assert_error(await client.get("/api/v1/nothing-here"), 404, "not_found")
    assert error["message"] == _zh("We could not find that.")


async def test_a_signed_in_viewers_own_language_wins(runtime: Runtime, client_for: Any) -> None:
    english = await create_user(runtime, ui_language="en")
    chinese = await create_user(runtime, ui_language="zh-Hans")
    zh = {"Accept-Language": "zh-CN"}
    c = await client_for(english)
    error = _assert_error(await c.get("/api/v1/notes/999999999", headers=zh), 404, "note_not_found")
    assert not CJK.search(error["message"])
    c = await client_for(chinese)
    error = _assert_error(
        await c.get("/api/v1/notes/999999999", headers={"Accept-Language": "en"}), 404, "note_not_found"
    )
    assert CJK.search(error["message"]), error


async def test_front_door_is_the_discover_page(client: httpx.AsyncClient) -> None:
    r = await client.get("/", follow_redirects=False)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "Discover" in r.text
    assert (await client.get("/api/docs")).status_code == 200
