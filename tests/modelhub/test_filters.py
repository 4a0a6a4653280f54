"""modelhub.filters: the models list's ``?q=`` and the versions' ``?base_model=``, shared by
the pages and /api/v1/."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from django.urls import reverse
from rest_framework.test import APIClient

from modelhub.filters import AIModelFilter
from modelhub.models import AIModel, ModelFile, ModelVersion
from modelhub.selectors import models_listed
from tests.modelhub.factories import AIModelFactory, ModelFileFactory

pytestmark = pytest.mark.django_db


def test_q_keeps_models_whose_name_contains_it_in_any_case():
    owl = AIModelFactory(name="Snowy OWL v2")
    AIModelFactory(name="Fox")

    assert list(AIModelFilter(QueryDict("q=owl"), queryset=models_listed()).qs) == [owl]


def test_the_page_and_the_api_list_the_same_models_for_the_same_q(client):
    for name in ("Owl", "Barn owl", "Fox"):
        AIModelFactory(name=name)

    page = client.get(reverse("modelhub:list"), {"q": " owl "}).context["page"]
    api = APIClient().get("/api/v1/models/", {"q": " owl "}).json()

    assert [model.pk for model in page.object_list] == [model["id"] for model in api["results"]]
    assert api["count"] == 2


def test_a_q_that_is_not_valid_is_a_400_on_the_api():
    response = APIClient().get("/api/v1/models/", {"q": "owl\x00"})

    assert response.status_code == 400
    assert "q" in response.json()["error"]["fields"]


def test_a_q_that_is_not_valid_is_ignored_by_the_page(client):
    model = AIModelFactory()

    response = client.get(reverse("modelhub:list"), {"q": "owl\x00"})

    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [model]


def test_an_unknown_base_model_is_a_400_in_the_error_body():
    response = APIClient().get("/api/v1/loras/", {"base_model": "sd9"})

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], list(error["fields"])) == ("invalid", ["base_model"])


def test_a_blank_base_model_keeps_every_lora():
    lora = ModelFileFactory(
        version__model__type=AIModel.Type.LORA, format=ModelFile.Format.SAFETENSORS
    )

    body = APIClient().get("/api/v1/loras/", {"base_model": ""}).json()

    assert [version["id"] for version in body["results"]] == [lora.version_id]


def test_base_model_narrows_the_generatable_versions_too():
    ModelFileFactory(version__base_model=ModelVersion.BaseModel.TINY)
    shapes = ModelFileFactory(version__base_model=ModelVersion.BaseModel.SHAPES)

    body = APIClient().get("/api/v1/versions/", {"base_model": "shapes"}).json()

    assert [version["id"] for version in body["results"]] == [shapes.version_id]


def test_the_schema_documents_the_filters(client):
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]

    def parameters(path: str) -> dict[str, dict]:
        return {p["name"]: p for p in paths[path]["get"]["parameters"]}

    assert parameters("/api/v1/models/")["q"]["description"] == "Name contains."
    lora_base = parameters("/api/v1/loras/")["base_model"]["schema"]
    assert set(lora_base["enum"]) == set(ModelVersion.BaseModel.values)
