"""Reads for the model hub."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from modelhub.models import AIModel, ModelFile, ModelVersion


def versions_generatable() -> QuerySet[ModelVersion]:
    """Checkpoint versions that have weights on disk to generate with. Single-file checkpoints
    are registered and listed in the hub but not generatable until single-file loading lands."""
    return (
        ModelVersion.objects.filter(
            model__type=AIModel.Type.CHECKPOINT, files__format=ModelFile.Format.DIFFUSERS
        )
        .select_related("model")
        .distinct()
        .order_by("-is_default", "model__name", "-created_at")
    )


def version_default() -> ModelVersion | None:
    return versions_generatable().first()


def version_primary_file(*, version: ModelVersion) -> ModelFile | None:
    return version.files.order_by("pk").first()


def models_listed(*, query: str = "") -> QuerySet[AIModel]:
    models = AIModel.objects.select_related("owner").prefetch_related(
        Prefetch("versions", queryset=ModelVersion.objects.prefetch_related("files"))
    )
    if query:
        models = models.filter(name__icontains=query)
    return models.order_by("-is_builtin", "name")
