"""Docs that cannot rot: every setting and every top-level command is in the README."""

from __future__ import annotations

import pathlib

from typer.main import get_command

from tongxin.cli.main import app
from tongxin.settings import SETTINGS

README = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    missing = [s.name for s in SETTINGS if s.name not in README]
    assert not missing, f"settings missing from README.md: {missing}"


def test_every_command_is_documented() -> None:
    commands = sorted(get_command(app).commands)  # type: ignore[attr-defined]
    assert {"init", "demo", "import", "export", "listings", "show", "match", "serve", "template"} <= set(commands)
    missing = [c for c in commands if f"tongxin {c}" not in README]
    assert not missing, f"commands missing from README.md: {missing}"


def test_readme_has_the_two_commands() -> None:
    assert "make demo" in README and "make test" in README
