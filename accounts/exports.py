""" "Download my data": a zip of the member's profile, pictures and models' metadata."""

from __future__ import annotations

import json
import tempfile
import zipfile
from typing import IO, Any

from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder

from accounts.models import User


def _json(data: Any) -> str:
    return json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)


def user_data_export(*, user: User) -> IO[bytes]:
    """Write the archive to a spooled temporary file and return it rewound."""
    from gallery.models import Image
    from generation.models import GenerationJob
    from modelhub.models import AIModel

    out = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        profile = {
            "username": user.username,
            "email": user.email,
            "display_name": user.display_name,
            "bio": user.bio,
            "language": user.language,
            "date_joined": user.date_joined,
            "last_login": user.last_login,
            "avatar": "avatar.png" if user.avatar else None,
        }
        archive.writestr("profile.json", _json(profile))
        if user.avatar.name and default_storage.exists(user.avatar.name):
            with default_storage.open(user.avatar.name) as fh:
                archive.writestr("avatar.png", fh.read())

        images = []
        for image in Image.objects.filter(owner=user).order_by("pk"):
            filename = f"images/{image.pk}.png"
            if image.file.name and default_storage.exists(image.file.name):
                with default_storage.open(image.file.name) as fh:
                    archive.writestr(filename, fh.read())
            images.append(
                {
                    "id": image.pk,
                    "file": filename,
                    "width": image.width,
                    "height": image.height,
                    "parameters": image.infotext,
                    "published": image.is_published,
                    "created_at": image.created_at,
                }
            )
        archive.writestr("images.json", _json(images))

        jobs = list(
            GenerationJob.objects.filter(user=user)
            .order_by("pk")
            .values(
                "id",
                "prompt",
                "negative_prompt",
                "seed",
                "seed_used",
                "steps",
                "cfg_scale",
                "width",
                "height",
                "sampler",
                "state",
                "created_at",
                "finished_at",
            )
        )
        archive.writestr("generation_jobs.json", _json(jobs))

        models = [
            {
                "name": model.name,
                "type": model.type,
                "description": model.description,
                "created_at": model.created_at,
                "versions": [
                    {
                        "name": version.name,
                        "base_model": version.base_model,
                        "files": [
                            {"size_bytes": f.size_bytes, "sha256": f.sha256}
                            for f in version.files.all()
                        ],
                    }
                    for version in model.versions.all()
                ],
            }
            for model in AIModel.objects.filter(owner=user).prefetch_related("versions__files")
        ]
        archive.writestr("models.json", _json(models))
    out.seek(0)
    return out
