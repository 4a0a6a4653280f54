"""A member's personal data kept by the apps above accounts: each app that keeps some registers,
when it is ready, how to export it ("Download my data") and how to erase it (account deletion).
Accounts reaches every app's data through this registry without importing the apps above it."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from accounts.models import User

Exporter = Callable[[User, zipfile.ZipFile], None]
Eraser = Callable[[User], None]


@dataclass(frozen=True)
class PersonalDataHandler:
    app: str
    export: Exporter | None = None
    erase: Eraser | None = None


_handlers: dict[str, PersonalDataHandler] = {}


def personal_data_register(
    *, app: str, export: Exporter | None = None, erase: Eraser | None = None
) -> None:
    """Called from an app's ``ready()``; registering the same app again replaces its handler."""
    _handlers[app] = PersonalDataHandler(app=app, export=export, erase=erase)


def personal_data_handlers() -> list[PersonalDataHandler]:
    """Every app's handler, in the order the apps became ready (INSTALLED_APPS order)."""
    return list(_handlers.values())


def archive_json_write(archive: zipfile.ZipFile, name: str, data: Any) -> None:
    archive.writestr(name, json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False))


def archive_file_copy(archive: zipfile.ZipFile, storage_name: str | None, arcname: str) -> bool:
    """Copy a stored file into the archive; False when it is missing from storage."""
    if not storage_name or not default_storage.exists(storage_name):
        return False
    with default_storage.open(storage_name) as fh:
        archive.writestr(arcname, fh.read())
    return True


def file_delete_on_commit(name: str | None) -> None:
    """Files go only once the rows that point at them are gone for good."""
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))
