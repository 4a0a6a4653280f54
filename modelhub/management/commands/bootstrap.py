"""Idempotent first-run set-up: built-in models, the demo account and some demo content."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.models import User
from accounts.services import user_register
from gallery.models import Image
from gallery.services import image_publish
from generation.engine.builder import tiny_lora_save, tiny_pipeline_save
from generation.services import job_execute, job_submit
from modelhub.models import AIModel, ModelVersion
from modelhub.services import model_import_safetensors, model_register_diffusers

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "visionary-demo"  # noqa: S105 - documented demo credentials, embedded mode only
DEMO_PROMPTS = [
    "a red circle on a blue background",
    "a small yellow star on a dark purple background, top left",
    "a green triangle on a white background",
]
TINY_DIR = "builtin/visionary-tiny-v1"
TINY_LORA_NAME = "Tiny Ink"


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
        directory = Path(settings.MODELS_DIR) / TINY_DIR
        if not (directory / "model_index.json").exists():
            self.stdout.write("Building the built-in tiny model (no download)...")
            tiny_pipeline_save(directory, seed=0, sample_size=128)
        version = model_register_diffusers(
            name="Visionary Tiny",
            version_name="v1",
            directory=directory,
            base_model=ModelVersion.BaseModel.TINY,
            description=(
                "A very small Stable Diffusion-shaped pipeline built locally from configs. "
                "Its weights are random: it proves the machinery, it does not draw the prompt."
            ),
            is_builtin=True,
            is_default=True,
            default_size=128,
            max_size=256,
        )
        self.stdout.write(self.style.SUCCESS(f"Built-in model ready: {version}"))
        return version

    def _builtin_lora(self) -> None:
        """A LoRA for the built-in model, so `<lora:...>` and the picker work out of the box."""
        if AIModel.objects.filter(name=TINY_LORA_NAME).exists():
            return
        with tempfile.TemporaryDirectory() as scratch:
            path = tiny_lora_save(
                Path(settings.MODELS_DIR) / TINY_DIR, Path(scratch) / "tiny-ink.safetensors"
            )
            version = model_import_safetensors(
                path=path,
                model_type=AIModel.Type.LORA,
                base_model=ModelVersion.BaseModel.TINY,
                owner=None,
                name=TINY_LORA_NAME,
                description=(
                    "A LoRA for Visionary Tiny with seeded random low-rank weights: it visibly "
                    "changes a picture, weight 0 gives the base picture. Use <lora:Tiny Ink:0.8>."
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
        for seed, prompt in enumerate(DEMO_PROMPTS, start=1):
            job = job_submit(
                user=demo, model_version=version, prompt=prompt, seed=seed, enqueue=False
            )
            job_execute(job_id=job.pk, worker=f"bootstrap@{socket.gethostname()}")
            for image in Image.objects.filter(job=job):
                image_publish(image=image, user=demo)
        self.stdout.write(self.style.SUCCESS(f"{len(DEMO_PROMPTS)} demo pictures published"))
