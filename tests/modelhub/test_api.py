"""REST API for the model hub: readable by anyone, with hashes and sizes."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from modelhub.models import AIModel, ModelFile, ModelVersion
from tests.modelhub.factories import ModelFileFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def checkpoint() -> ModelFile:
    return ModelFileFactory(version__is_default=True, sha256="ab" * 32)


@pytest.fixture
def lora() -> ModelFile:
    return ModelFileFactory(
        version__model__type=AIModel.Type.LORA,
        version__base_model=ModelVersion.BaseModel.SD15,
        format=ModelFile.Format.SAFETENSORS,
    )


def test_versions_list_what_can_generate_with_hashes(checkpoint, lora):
    response = APIClient().get("/api/v1/versions/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    version = body["results"][0]
    assert version["id"] == checkpoint.version_id
    assert version["base_model"] == "tiny" and version["type"] == "checkpoint"
    assert (version["default_width"], version["default_height"]) == (64, 64)
    assert version["file"] == {
        "format": "diffusers",
        "size_bytes": 1024,
        "sha256": "ab" * 32,
        "autov2": "ab" * 5,
    }


def test_versions_list_queries_do_not_grow_with_versions(django_assert_max_num_queries):
    for _ in range(5):
        ModelFileFactory()
    with django_assert_max_num_queries(3):
        assert APIClient().get("/api/v1/versions/").json()["count"] == 5


def test_loras_are_listed_and_filtered_by_base_model(checkpoint, lora):
    client = APIClient()
    assert [v["id"] for v in client.get("/api/v1/loras/").json()["results"]] == [lora.version_id]
    assert client.get("/api/v1/loras/", {"base_model": "sdxl"}).json()["count"] == 0


def test_models_list_nests_versions_and_files(checkpoint):
    body = APIClient().get("/api/v1/models/").json()
    model = body["results"][0]
    assert model["name"] == checkpoint.version.model.name
    assert model["versions"][0]["file"]["sha256"] == checkpoint.sha256


def test_unknown_version_is_404_in_the_error_body():
    response = APIClient().get("/api/v1/versions/99999/")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "status": 404,
            "code": "not_found",
            "message": response.json()["error"]["message"],
        }
    }


def test_models_are_read_only(member, checkpoint):
    client = APIClient()
    client.force_authenticate(member)
    assert client.post("/api/v1/models/", {"name": "x"}, format="json").status_code == 405


def test_models_list_queries_do_not_grow_with_models(django_assert_max_num_queries):
    for _ in range(4):
        ModelFileFactory()
    with django_assert_max_num_queries(4):
        assert APIClient().get("/api/v1/models/").json()["count"] == 4
