"""A member's pictures in "Download my data" and in account deletion (registered in apps.py)."""

from __future__ import annotations

import zipfile

from accounts.models import User
from accounts.personal_data import archive_file_copy, archive_json_write, file_delete_on_commit
from gallery.models import Image


def images_export(user: User, archive: zipfile.ZipFile) -> None:
    images = []
    for image in Image.objects.filter(owner=user).order_by("pk"):
        filename = f"images/{image.pk}.png"
        archive_file_copy(archive, image.file.name, filename)
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
    archive_json_write(archive, "images.json", images)


def images_erase(user: User) -> None:
    """Unpublished pictures are personal; published ones stay, credited to nobody."""
    private_images = Image.objects.filter(owner=user, is_published=False)
    for name in private_images.values_list("file", flat=True):
        file_delete_on_commit(name)
    private_images.delete()
