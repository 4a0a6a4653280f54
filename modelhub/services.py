"""Writes for the model hub: registering models whose weights are on the workers' disk."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from modelhub.models import AIModel, ModelFile, ModelVersion
from modelhub.safetensors_check import InvalidModelFile, safetensors_header_validate


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
    default_cfg_scale: float = 7.0,
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
            "default_cfg_scale": default_cfg_scale,
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


def file_sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


# (default side, largest side) in pixels per base model: each family's training size.
NATIVE_SIZES: dict[str, tuple[int, int]] = {
    ModelVersion.BaseModel.SD15: (512, 1024),
    ModelVersion.BaseModel.SD21: (768, 1024),
    ModelVersion.BaseModel.SDXL: (1024, 2048),
    ModelVersion.BaseModel.TINY: (128, 256),
    ModelVersion.BaseModel.SHAPES: (64, 128),
}


def model_import_safetensors(
    *,
    path: Path,
    model_type: str,
    base_model: str,
    owner: User | None,
    name: str = "",
    version_name: str = "v1",
    description: str = "",
    is_builtin: bool = False,
) -> ModelVersion:
    """Register a .safetensors checkpoint or LoRA from disk, after validating its header.

    The file is copied under MODELS_DIR/imported/<sha256>.safetensors; if registering fails the
    copy is removed again, so nothing is left half-written."""
    if model_type not in AIModel.Type.values:
        raise InvalidModelFile(_("Unknown model type: %(t)s.") % {"t": model_type})
    if base_model not in ModelVersion.BaseModel.values:
        raise InvalidModelFile(_("Unknown base model: %(b)s.") % {"b": base_model})
    safetensors_header_validate(path)
    sha256, size = file_sha256(path)
    existing = ModelFile.objects.filter(sha256=sha256).select_related("version__model").first()
    if existing is not None:
        raise InvalidModelFile(
            _("This file is already registered as %(version)s.") % {"version": existing.version}
        )
    target = Path(settings.MODELS_DIR) / "imported" / f"{sha256}.safetensors"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    try:
        return _model_file_register(
            target=target,
            sha256=sha256,
            size=size,
            model_type=model_type,
            base_model=base_model,
            owner=owner,
            name=name or path.stem,
            version_name=version_name,
            description=description,
            is_builtin=is_builtin,
        )
    except Exception:
        target.unlink(missing_ok=True)
        raise


@transaction.atomic
def _model_file_register(
    *,
    target: Path,
    sha256: str,
    size: int,
    model_type: str,
    base_model: str,
    owner: User | None,
    name: str,
    version_name: str,
    description: str,
    is_builtin: bool,
) -> ModelVersion:
    model, created = AIModel.objects.get_or_create(
        name=name,
        defaults={
            "type": model_type,
            "owner": owner,
            "description": description,
            "is_builtin": is_builtin,
        },
    )
    owner_id = owner.pk if owner is not None else None
    if not created and (model.type != model_type or model.owner_id != owner_id):
        raise InvalidModelFile(
            _("A model named %(name)s already exists and is not yours or not a %(type)s.")
            % {"name": name, "type": model_type}
        )
    if model.versions.filter(name=version_name).exists():
        raise InvalidModelFile(
            _("%(name)s already has a version %(version)s.")
            % {"name": name, "version": version_name}
        )
    native, largest = NATIVE_SIZES.get(base_model, (512, 1024))
    version = ModelVersion.objects.create(
        model=model,
        name=version_name,
        base_model=base_model,
        default_width=native,
        default_height=native,
        max_size=largest,
    )
    ModelFile.objects.create(
        version=version,
        format=ModelFile.Format.SAFETENSORS,
        path=target.relative_to(Path(settings.MODELS_DIR)).as_posix(),
        size_bytes=size,
        sha256=sha256,
    )
    return version
