"""Imports run one way between the apps (the contracts in pyproject.toml, checked by
import-linter): lower layers never import higher ones, not even inside a function, and only the
worker package imports the engine's libraries."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_import_linter_contract_is_kept() -> None:
    # In a process of its own: import-linter reads contract classes with dir(), which trips over
    # zope.interface's class attributes once Twisted (daphne) is loaded, as it is here.
    lint = [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"]
    done = subprocess.run(lint, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_every_module_of_the_project_package_sits_in_a_layer() -> None:
    """A new module under visionary/ must be placed: in the composition root or in the core."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = config["contracts"][0]["layers"]
    named = {name.strip() for layer in layers for name in layer.split(":")}
    package = ROOT / "visionary"
    modules = {
        f"visionary.{path.stem if path.is_file() else path.name}"
        for path in package.iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()
    }
    assert modules - named == set()
