"""Reads for the model hub."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from modelhub.models import AIModel, ModelFile, ModelVersion

# Base models whose single-file checkpoints load and generate: those with a config dir shipped
# under generation/worker/engine/configs (the tiny built-in model only exists as a diffusers folder).
SINGLE_FILE_BASE_MODELS = (
    ModelVersion.BaseModel.SD15,
    ModelVersion.BaseModel.SD21,
    ModelVersion.BaseModel.SDXL,
)


def versions_generatable() -> QuerySet[ModelVersion]:
    """Checkpoint versions that have weights on disk to generate with: a diffusers folder, or a
    single .safetensors file of a base model whose architecture config we ship."""
    loadable = Q(files__format=ModelFile.Format.DIFFUSERS) | Q(
        files__format=ModelFile.Format.SAFETENSORS, base_model__in=SINGLE_FILE_BASE_MODELS
    )
    return (
        ModelVersion.objects.filter(loadable, model__type=AIModel.Type.CHECKPOINT)
        .select_related("model")
        .distinct()
        .order_by("-is_default", "model__name", "-created_at")
    )


def version_default() -> ModelVersion | None:
    return versions_generatable().first()


def version_primary_file(*, version: ModelVersion) -> ModelFile | None:
    return version.files.order_by("pk").first()


def models_listed() -> QuerySet[AIModel]:
    """The hub's models with their versions and files; modelhub.filters.AIModelFilter narrows it
    (``?q=``)."""
    models = AIModel.objects.select_related("owner").prefetch_related(
        Prefetch("versions", queryset=ModelVersion.objects.prefetch_related("files"))
    )
    return models.order_by("-is_builtin", "name")


def lora_by_name(*, name: str) -> ModelFile | None:
    """The file of the newest version of the LoRA called ``name`` (any letter case), as
    ``<lora:name:weight>`` refers to it; None when the hub has no such LoRA."""
    return (
        ModelFile.objects.filter(
            version__model__type=AIModel.Type.LORA,
            version__model__name__iexact=name.strip(),
            format=ModelFile.Format.SAFETENSORS,
        )
        .select_related("version__model")
        .order_by("-version__created_at", "-pk")
        .first()
    )


def loras_for_base(*, base_model: str | None = None) -> QuerySet[ModelVersion]:
    """LoRA versions one can use (for the picker), optionally only those for ``base_model``."""
    versions = ModelVersion.objects.filter(
        model__type=AIModel.Type.LORA, files__format=ModelFile.Format.SAFETENSORS
    ).select_related("model")
    if base_model:
        versions = versions.filter(base_model=base_model)
    return versions.distinct().order_by("model__name", "-created_at")
