"""REST API for the model hub (read-only, open to anyone): models, generatable versions, LoRAs."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, viewsets
from rest_framework.permissions import AllowAny

from modelhub.filters import AIModelFilter, ModelVersionFilter
from modelhub.models import AIModel, ModelFile, ModelVersion
from modelhub.selectors import loras_for_base, models_listed, versions_generatable
from visionary.api.pagination import Pagination


class ModelFileSerializer(serializers.ModelSerializer[ModelFile]):
    autov2 = serializers.CharField(read_only=True, help_text="A1111's short hash (10 hex digits).")

    class Meta:
        model = ModelFile
        fields = ["format", "size_bytes", "sha256", "autov2"]
        read_only_fields = fields


class VersionSerializer(serializers.ModelSerializer[ModelVersion]):
    """A model version with its primary file (the weights a worker loads)."""

    model = serializers.IntegerField(source="model_id", read_only=True)
    model_name = serializers.CharField(source="model.name", read_only=True)
    type = serializers.CharField(source="model.type", read_only=True)
    file = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "model",
            "model_name",
            "type",
            "name",
            "base_model",
            "default_width",
            "default_height",
            "max_size",
            "default_cfg_scale",
            "is_default",
            "created_at",
            "file",
        ]
        read_only_fields = fields

    @extend_schema_field(ModelFileSerializer(allow_null=True))
    def get_file(self, version: ModelVersion) -> dict[str, Any] | None:
        # The files are prefetched: the first by id is the primary one (version_primary_file).
        files = sorted(version.files.all(), key=lambda f: f.pk)
        return ModelFileSerializer(files[0]).data if files else None


class AIModelSerializer(serializers.ModelSerializer[AIModel]):
    owner = serializers.CharField(source="owner.username", read_only=True, allow_null=True)
    versions = VersionSerializer(many=True, read_only=True)

    class Meta:
        model = AIModel
        fields = [
            "id",
            "name",
            "type",
            "description",
            "owner",
            "is_builtin",
            "created_at",
            "versions",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "description": {
                "help_text": "Markdown as its owner wrote it (the site renders it sanitised)."
            }
        }


VERSION_EXAMPLE = OpenApiExample(
    "A generatable checkpoint",
    value={
        "id": 1,
        "model": 1,
        "model_name": "Tiny",
        "type": "checkpoint",
        "name": "v1",
        "base_model": "sd15",
        "default_width": 512,
        "default_height": 512,
        "max_size": 1024,
        "default_cfg_scale": 7.0,
        "is_default": True,
        "created_at": "2025-05-01T12:00:00Z",
        "file": {
            "format": "safetensors",
            "size_bytes": 2132625894,
            "sha256": "6ce0161689b3853acaa03779ec93eafe75a02f4ced659bee03f50797806fa2fa",
            "autov2": "6ce0161689",
        },
    },
    response_only=True,
)


@extend_schema_view(
    list=extend_schema(summary="Models in the hub (checkpoints and LoRAs)"),
    retrieve=extend_schema(summary="One model with its versions"),
)
class AIModelViewSet(viewsets.ReadOnlyModelViewSet[AIModel]):
    permission_classes = [AllowAny]
    pagination_class = Pagination
    serializer_class = AIModelSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = AIModelFilter

    def get_queryset(self) -> QuerySet[AIModel]:
        # Versions and their files are prefetched by the selector.
        return models_listed()


@extend_schema_view(
    list=extend_schema(
        summary="Checkpoint versions one can generate with (ids for POST /api/v1/jobs/)",
        examples=[VERSION_EXAMPLE],
    ),
    retrieve=extend_schema(summary="One generatable version", examples=[VERSION_EXAMPLE]),
)
class VersionViewSet(viewsets.ReadOnlyModelViewSet[ModelVersion]):
    permission_classes = [AllowAny]
    pagination_class = Pagination
    serializer_class = VersionSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ModelVersionFilter

    def get_queryset(self) -> QuerySet[ModelVersion]:
        return versions_generatable().prefetch_related("files")


@extend_schema_view(
    list=extend_schema(summary="LoRAs (name them in a prompt: <lora:name:weight>)"),
    retrieve=extend_schema(summary="One LoRA version"),
)
class LoraViewSet(viewsets.ReadOnlyModelViewSet[ModelVersion]):
    permission_classes = [AllowAny]
    pagination_class = Pagination
    serializer_class = VersionSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ModelVersionFilter

    def get_queryset(self) -> QuerySet[ModelVersion]:
        return loras_for_base().prefetch_related("files")
