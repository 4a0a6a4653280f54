""" "Download my data": a zip of the member's profile and of what every app keeps about them
(pictures, generation jobs, models: each app adds its part through accounts.personal_data)."""

from __future__ import annotations

import tempfile
import zipfile
from typing import IO

from accounts.models import User
from accounts.personal_data import archive_file_copy, archive_json_write, personal_data_handlers


def user_data_export(*, user: User) -> IO[bytes]:
    """Write the archive to a spooled temporary file and return it rewound."""
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
        archive_json_write(archive, "profile.json", profile)
        archive_file_copy(archive, user.avatar.name, "avatar.png")

        for handler in personal_data_handlers():
            if handler.export is not None:
                handler.export(user, archive)
    out.seek(0)
    return out
