"""Embedded mode (``make run``): everything in one process, state under VISIONARY_DATA_DIR."""

from __future__ import annotations

import secrets

from .base import *  # noqa: F403
from .base import DATA_DIR
from .env import env_str


def _persistent_secret_key() -> str:
    """A random key kept in the data dir, so sessions survive a restart without configuration."""
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env_str("SECRET_KEY") or _persistent_secret_key()
