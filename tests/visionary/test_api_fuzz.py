"""Property-based run against the served OpenAPI schema (schemathesis): no request finds a 5xx.

Covers every operation in /api/schema/ (/api/v1/ and /sdapi/v1/) as a member signed in with an
API token: Bearer under /api/v1/, the Basic password under /sdapi/v1/ (as A1111 clients send it).
/sdapi/v1/txt2img and /img2img are left out: like A1111 they block until a worker has made the
picture, and no worker runs in the suite (tests/generation/test_sdapi.py covers them). Job
creation through /api/v1/jobs/ is in: it only queues, on commit, which never comes inside a test
transaction."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from PIL import Image as PILImage
from PIL import PngImagePlugin

from accounts.api_tokens import api_token_create
from accounts.models import User
from tests.modelhub.factories import ModelFileFactory

BLOCKING_OPERATIONS = r"^/sdapi/v1/(txt2img|img2img)$"
EXAMPLES_RUN: list[str] = []


def _served_schema() -> dict[str, Any]:
    """The document /api/schema/ serves, built without a request (no database at import)."""
    generator = SchemaGenerator()
    document = generator.get_schema(request=None, public=True)
    loaded: dict[str, Any] = json.loads(OpenApiJsonRenderer().render(document))
    return loaded


# schemathesis.pytest.from_fixture would load it per test, but breaks on pytest 9 (node._nodeid).
schema = schemathesis.openapi.from_dict(_served_schema()).exclude(path_regex=BLOCKING_OPERATIONS)
schema.app = get_wsgi_application()


@pytest.fixture(autouse=True)
def _test_transaction_kept() -> Iterator[None]:
    """The WSGI app sends request_finished after every call, whose close_old_connections would
    close the test's connection inside its transaction (MySQL then loses the transaction and the
    rows leak out). Django's test client disconnects it the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _member_data(db: None, settings: Any) -> None:
    # The rates are not under test here; a fuzz run would only measure them.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": None, "user": None, "job_create": None},
    }
    ModelFileFactory(version__is_default=True)


@pytest.fixture
def credentials(member: User) -> dict[str, str]:
    """One token: as Bearer for /api/v1/, as the Basic password for /sdapi/v1/ (A1111-style)."""
    _token, raw = api_token_create(user=member, name="fuzz")
    basic = base64.b64encode(f"{member.username}:{raw}".encode()).decode()
    return {"api": f"Bearer {raw}", "sdapi": f"Basic {basic}"}


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_no_request_finds_a_server_error(case: Any, credentials: dict[str, str]) -> None:
    scheme = "sdapi" if case.path.startswith("/sdapi/") else "api"
    response = case.call(headers={"Authorization": credentials[scheme]})
    EXAMPLES_RUN.append(case.operation.label)
    assert response.status_code < 500, (case.operation.label, response.text[:500])


# --- Hostile bodies on every operation that takes one ------------------------------------------
# The generated examples above stay small and well formed; these are the bodies an attacker
# sends instead: over the upload limit, nested past any parser's recursion limit, and a picture
# whose compressed text chunk inflates past Pillow's limit. Each answers 4xx, never 5xx.
FULL_SCHEMA = schemathesis.openapi.from_dict(_served_schema())
IMAGE_FIELDS = {
    "/api/v1/jobs/": ("init_image", False),
    "/sdapi/v1/png-info": ("image", False),
    "/sdapi/v1/img2img": ("init_images", True),
}


def _json_operations() -> list[Any]:
    operations = []
    for result in FULL_SCHEMA.get_all_operations():
        operation = result.ok()
        if any(body.media_type == "application/json" for body in operation.body):
            operations.append(operation)
    return operations


# txt2img and img2img included: a bad body is refused while parsing, before the call would wait.
JSON_OPERATIONS = _json_operations()


def _hostile_call(operation: Any, body: bytes, credentials: dict[str, str]) -> Any:
    case = operation.Case(body=body, media_type="application/json")
    scheme = "sdapi" if operation.path.startswith("/sdapi/") else "api"
    return case.call(headers={"Authorization": credentials[scheme]}, app=get_wsgi_application())


@pytest.mark.parametrize("operation", JSON_OPERATIONS, ids=lambda op: op.label)
def test_a_body_over_the_upload_limit_is_413(
    operation: Any, credentials: dict[str, str], settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"prompt": "x" * 5000, "name": "x" * 5000}).encode()
    response = _hostile_call(operation, body, credentials)
    assert response.status_code == 413, (operation.label, response.text[:300])


@pytest.mark.parametrize("operation", JSON_OPERATIONS, ids=lambda op: op.label)
def test_json_nested_50000_deep_is_a_4xx(operation: Any, credentials: dict[str, str]) -> None:
    body = b"[" * 50_000 + b"]" * 50_000
    response = _hostile_call(operation, body, credentials)
    assert 400 <= response.status_code < 500, (operation.label, response.text[:300])


def _ztxt_bomb_b64() -> str:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "A" * (PngImagePlugin.MAX_TEXT_CHUNK + 1), zip=True)
    out = io.BytesIO()
    PILImage.new("RGB", (16, 16), (10, 20, 30)).save(out, format="PNG", pnginfo=info)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


@pytest.mark.parametrize("path", sorted(IMAGE_FIELDS))
def test_a_ztxt_bomb_picture_is_refused(path: str, credentials: dict[str, str]) -> None:
    (operation,) = [op for op in _json_operations() if op.path == path and op.method == "post"]
    field, as_list = IMAGE_FIELDS[path]
    bomb = _ztxt_bomb_b64()
    body = json.dumps({"prompt": "x", field: [bomb] if as_list else bomb}).encode()
    response = _hostile_call(operation, body, credentials)
    assert response.status_code in {400, 422}, response.text[:300]
    assert "image" in response.text.lower()


def test_the_fuzz_run_ran_examples() -> None:
    """Runs after the fuzz tests (same module, file order): they must not have been vacuous."""
    if not EXAMPLES_RUN:
        pytest.skip("the fuzz tests were not selected in this run")
    assert len(set(EXAMPLES_RUN)) >= 10, sorted(set(EXAMPLES_RUN))
    assert len(EXAMPLES_RUN) >= 50
