"""Writes for the model hub: registering models whose weights are on the workers' disk."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.conf import settings
from django.db import transaction

from accounts.models import User
from modelhub.models import AIModel, ModelFile, ModelVersion


def directory_sha256(directory: Path) -> tuple[str, int]:
    """SHA-256 over a folder's files (relative path and content, in sorted order) and its size."""
    digest = hashlib.sha256()
    size = 0
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode())
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1024 * 1024), b""):
                digest.update(chunk)
                size += len(chunk)
    return digest.hexdigest(), size


@transaction.atomic
def model_register_diffusers(
    *,
    name: str,
    version_name: str,
    directory: Path,
    base_model: str,
    owner: User | None = None,
    description: str = "",
    is_builtin: bool = False,
    is_default: bool = False,
    default_size: int = 512,
    max_size: int = 1024,
) -> ModelVersion:
    """Register (or refresh) a diffusers-format checkpoint folder under settings.MODELS_DIR."""
    relative = directory.resolve().relative_to(Path(settings.MODELS_DIR).resolve())
    sha256, size = directory_sha256(directory)
    model, _ = AIModel.objects.update_or_create(
        name=name,
        defaults={
            "type": AIModel.Type.CHECKPOINT,
            "owner": owner,
            "description": description,
            "is_builtin": is_builtin,
        },
    )
    version, _ = ModelVersion.objects.update_or_create(
        model=model,
        name=version_name,
        defaults={
            "base_model": base_model,
            "default_width": default_size,
            "default_height": default_size,
            "max_size": max_size,
            "is_default": is_default,
        },
    )
    if is_default:
        ModelVersion.objects.exclude(pk=version.pk).update(is_default=False)
    version.files.all().delete()
    ModelFile.objects.create(
        version=version,
        format=ModelFile.Format.DIFFUSERS,
        path=relative.as_posix(),
        size_bytes=size,
        sha256=sha256,
    )
    return version
