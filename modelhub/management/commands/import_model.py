"""Register a .safetensors checkpoint or LoRA from disk (header validated, never unpickled)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from modelhub.models import AIModel, ModelVersion
from modelhub.safetensors_check import InvalidModelFile
from modelhub.services import model_import_safetensors


class Command(BaseCommand):
    help = "Register a .safetensors checkpoint or LoRA from disk in the model hub."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--type", required=True, choices=AIModel.Type.values)
        parser.add_argument("--base", required=True, choices=ModelVersion.BaseModel.values)
        parser.add_argument("--owner", required=True, help="username of the owner")
        parser.add_argument("--name", default="", help="model name (default: the file name)")
        parser.add_argument("--version-name", default="v1", dest="version_name")
        parser.add_argument("--description", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        owner = User.objects.filter(username=options["owner"], is_active=True).first()
        if owner is None:
            raise CommandError(f"No active member named {options['owner']!r}")
        try:
            version = model_import_safetensors(
                path=path,
                model_type=options["type"],
                base_model=options["base"],
                owner=owner,
                name=options["name"],
                version_name=options["version_name"],
                description=options["description"],
            )
        except InvalidModelFile as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        model_file = version.files.get()
        self.stdout.write(
            self.style.SUCCESS(
                f"Registered {version} ({model_file.size_bytes} bytes, "
                f"SHA-256 {model_file.sha256}, AutoV2 {model_file.autov2})"
            )
        )
