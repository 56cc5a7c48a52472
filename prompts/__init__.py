"""Prompt templates are data: plain text files with ``{named}`` fields.

Built-in templates live in ``templates/`` (package data, read with
``importlib.resources``); a file with the same name in the config dir's
``prompts/`` folder overrides one. Only the named fields a caller passes are
replaced, so other braces in a template are left alone.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from kidneytalk.errors import PromptTemplateError

_FIELD = re.compile(r"\{(\w+)\}")


def template_names() -> list[str]:
    folder = resources.files(__package__).joinpath("templates")
    return sorted(p.name.removesuffix(".txt") for p in folder.iterdir() if p.name.endswith(".txt"))


def builtin(name: str) -> str:
    return (
        resources.files(__package__)
        .joinpath("templates", f"{name}.txt")
        .read_text(encoding="utf-8")
    )


def load(name: str, *, language: str = "en", overrides: Path | None = None) -> str:
    """Template text: user override first, then the language's built-in, then English."""
    candidates = [f"{name}_{language}", f"{name}_en"] if language != "en" else [f"{name}_en"]
    for candidate in candidates:
        if overrides is not None:
            file = overrides / f"{candidate}.txt"
            if file.is_file():
                return file.read_text(encoding="utf-8")
        try:
            return builtin(candidate)
        except FileNotFoundError:
            continue
    raise PromptTemplateError(f"No prompt template named '{name}'.")


def render(template: str, **fields: object) -> str:
    """Replace ``{field}`` for the given fields only; unknown braces stay."""

    def sub(match: re.Match[str]) -> str:
        key = match.group(1)
        return str(fields[key]) if key in fields else match.group(0)

    return _FIELD.sub(sub, template).strip()


class PromptBook:
    """Templates for one language with the user's overrides, rendered by name."""

    def __init__(self, language: str = "en", overrides: Path | None = None):
        self.language = language
        self.overrides = overrides

    def get(self, name: str) -> str:
        return load(name, language=self.language, overrides=self.overrides)

    def render(self, name: str, **fields: object) -> str:
        return render(self.get(name), **fields)


def override_file(name: str, overrides: Path) -> Path:
    """Where the user's version of template ``name`` (e.g. ``judge_en``) is kept."""
    if name not in template_names():
        raise PromptTemplateError(f"No prompt template named '{name}'.")
    return overrides / f"{name}.txt"


def is_overridden(name: str, overrides: Path) -> bool:
    return override_file(name, overrides).is_file()


def save_override(name: str, text: str, overrides: Path) -> Path:
    """Keep ``text`` as the user's version of ``name``; it wins over the built-in from now on."""
    file = override_file(name, overrides)
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(file)
    return file


def reset_override(name: str, overrides: Path) -> str:
    """Delete the user's version of ``name``; returns the built-in text now in force."""
    override_file(name, overrides).unlink(missing_ok=True)
    return builtin(name)
