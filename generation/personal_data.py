"""A member's generation jobs in "Download my data" and in account deletion (registered in
apps.py)."""

from __future__ import annotations

import zipfile

from accounts.models import User
from accounts.personal_data import archive_json_write, file_delete_on_commit
from generation.models import GenerationJob

EXPORTED_FIELDS = (
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


def jobs_export(user: User, archive: zipfile.ZipFile) -> None:
    jobs = list(GenerationJob.objects.filter(user=user).order_by("pk").values(*EXPORTED_FIELDS))
    archive_json_write(archive, "generation_jobs.json", jobs)


def jobs_erase(user: User) -> None:
    """Prompts of unpublished work are personal; published pictures keep their own copy of the
    recipe (their job link is set to null)."""
    jobs = GenerationJob.objects.filter(user=user)
    for name in jobs.exclude(init_image="").values_list("init_image", flat=True):
        file_delete_on_commit(name)  # img2img starting pictures are the member's uploads
    jobs.delete()
