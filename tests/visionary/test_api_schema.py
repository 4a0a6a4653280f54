"""The OpenAPI schema validates, is served as YAML or JSON, and has a self-hosted docs page."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client


def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "/api/v1/jobs/" in text and "/api/v1/tokens/{id}/" in text


@pytest.mark.django_db
def test_schema_is_json_when_asked(client: Client):
    for response in (
        client.get("/api/schema/", {"format": "json"}),
        client.get("/api/schema/", HTTP_ACCEPT="application/json"),
    ):
        assert response.status_code == 200
        schema = response.json()
        assert schema["openapi"].startswith("3.")
        assert "/api/v1/jobs/{id}/cancel/" in schema["paths"]
        assert {"tokenAuth", "basicAuth", "cookieAuth"} <= set(
            schema["components"]["securitySchemes"]
        )


@pytest.mark.django_db
def test_schema_has_examples_for_job_creation(client: Client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    create = schema["paths"]["/api/v1/jobs/"]["post"]
    assert "txt2img" in {
        example["summary"]
        for example in create["requestBody"]["content"]["application/json"]["examples"].values()
    }


@pytest.mark.django_db
def test_schema_says_model_descriptions_are_markdown(client: Client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    description = schema["components"]["schemas"]["AIModel"]["properties"]["description"]
    assert description["description"].startswith("Markdown")


@pytest.mark.django_db
def test_schema_includes_sdapi_views_once_they_exist(client: Client):
    from django.urls import get_resolver

    has_sdapi = any(
        str(pattern.pattern).startswith("sdapi") and getattr(pattern, "url_patterns", [])
        for pattern in get_resolver().url_patterns
    )
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    if has_sdapi:
        assert any(path.startswith("/sdapi/v1/") for path in paths)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_use_local_assets(client: Client, path: str):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    assert "cdn" not in html.lower()
