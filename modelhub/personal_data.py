"""A member's models in "Download my data" (registered in apps.py). Shared models stay after an
account is deleted, credited to nobody, so there is nothing to erase here."""

from __future__ import annotations

import zipfile

from accounts.models import User
from accounts.personal_data import archive_json_write
from modelhub.models import AIModel


def models_export(user: User, archive: zipfile.ZipFile) -> None:
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
    archive_json_write(archive, "models.json", models)
