"""Idempotent first-run set-up: built-in models, the demo account and some demo content.

It renders the demo pictures in this process, so, like a worker, it loads the engine (torch)."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.models import User
from accounts.services import user_register
from gallery.models import Image
from gallery.services import image_publish
from generation import builtin as starter
from generation.services import job_submit
from generation.worker.execute import job_run
from modelhub.models import AIModel, ModelFile, ModelVersion
from modelhub.services import (
    directory_sha256,
    file_sha256,
    model_import_safetensors,
    model_register_diffusers,
)

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "visionary-demo"  # noqa: S105 - documented demo credentials, embedded mode only
# (prompt, seed): the model's previews, seeds picked as an author picks a model's previews. The
# circle's seed is one of the 9 in 16 the checker reads as a circle (the model card's limits).
DEMO_PICTURES = [
    ("a red circle on a blue background", 14),
    ("a small yellow star on a purple background, top left", 2),
    ("a large green triangle on a white background", 3),
    ("<lora:Shapes Outline:1> a large yellow square on a black background", 4),
]
STARTER_DIR = "builtin/visionary-shapes-v1"


class Command(BaseCommand):
    help = "Create built-in models, the demo account and demo pictures (safe to run again)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--no-demo", action="store_true", help="Only the built-in models, no demo account."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        version = self._builtin_model()
        self._builtin_lora()
        if options["no_demo"]:
            return
        demo = self._demo_user()
        self._demo_images(demo, version)

    def _builtin_model(self) -> ModelVersion:
        """The starter model shipped in the repository, copied under MODELS_DIR (again when the
        shipped weights changed) and registered as the site's default model."""
        directory = Path(settings.MODELS_DIR) / STARTER_DIR
        shipped, _ = directory_sha256(starter.MODEL_DIR)
        if not directory.exists() or directory_sha256(directory)[0] != shipped:
            self.stdout.write("Installing the built-in starter model...")
            shutil.rmtree(directory, ignore_errors=True)
            shutil.copytree(starter.MODEL_DIR, directory)
        version = model_register_diffusers(
            name=starter.MODEL_NAME,
            version_name="v1",
            directory=directory,
            base_model=ModelVersion.BaseModel.SHAPES,
            description=starter.MODEL_CARD.read_text(encoding="utf-8"),
            is_builtin=True,
            is_default=True,
            default_size=starter.SIDE,
            max_size=2 * starter.SIDE,
            default_cfg_scale=starter.RECOMMENDED_CFG_SCALE,
        )
        self.stdout.write(self.style.SUCCESS(f"Built-in model ready: {version}"))
        return version

    def _builtin_lora(self) -> None:
        """The starter model's outline-style LoRA, so `<lora:...>` and the picker work at once."""
        sha256, _ = file_sha256(starter.LORA_FILE)
        if ModelFile.objects.filter(sha256=sha256).exists():
            return
        # Shipped weights changed: the built-in LoRA's old version goes, the new one comes.
        old = AIModel.objects.filter(name=starter.LORA_NAME, is_builtin=True)
        for stored in ModelFile.objects.filter(version__model__in=old):
            (Path(settings.MODELS_DIR) / stored.path).unlink(missing_ok=True)
        old.delete()
        version = model_import_safetensors(
            path=starter.LORA_FILE,
            model_type=AIModel.Type.LORA,
            base_model=ModelVersion.BaseModel.SHAPES,
            owner=None,
            name=starter.LORA_NAME,
            description=(
                "Draws the shapes of Visionary Shapes as thick outlines, the background showing "
                "through, whatever the prompt. Trained on the same captions as the model. "
                f"Weight 1 gives the full style, 0 the model's own picture: "
                f"<lora:{starter.LORA_NAME}:1>."
            ),
            is_builtin=True,
        )
        self.stdout.write(self.style.SUCCESS(f"Built-in LoRA ready: {version}"))

    def _demo_user(self) -> User:
        demo = User.objects.filter(username=DEMO_USERNAME).first()
        if demo is None:
            demo = user_register(
                username=DEMO_USERNAME, email="demo@example.com", password=DEMO_PASSWORD
            )
            demo.display_name = "Demo Artist"
            demo.bio = "The demo account of Visionary Art."
            demo.save(update_fields=["display_name", "bio"])
            self.stdout.write(
                self.style.SUCCESS(f"Demo account: {DEMO_USERNAME} / {DEMO_PASSWORD}")
            )
        return demo

    def _demo_images(self, demo: User, version: ModelVersion) -> None:
        if Image.objects.filter(owner=demo).exists():
            return
        for prompt, seed in DEMO_PICTURES:
            job = job_submit(
                user=demo, model_version=version, prompt=prompt, seed=seed, enqueue=False
            )
            job_run(job_id=job.pk, worker=f"bootstrap@{socket.gethostname()}")
            for image in Image.objects.filter(job=job):
                image_publish(image=image, user=demo)
        self.stdout.write(self.style.SUCCESS(f"{len(DEMO_PICTURES)} demo pictures published"))
