"""Find the butter dbt project that a ``butter`` command works on.

In order: an explicit folder (``--project-dir``), the ``BUTTER_PROJECT_DIR``
environment variable, else the nearest folder at or above the working
directory whose ``dbt_project.yml`` is named ``butter``. The package's own
location is never used: it is the project only for an editable install.

``read_config`` is the one place butter parses ``dbt_project.yml``; the build
reads it once (``Context.project_config``) and hands the parsed file on (vars:
``dbt_var``; the published models: ``ownership.published_relations``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from . import settings
from .errors import InputError

PROJECT_NAME = "butter"
PROJECT_FILE = "dbt_project.yml"
ENV_VAR = "BUTTER_PROJECT_DIR"


class ProjectNotFound(InputError, RuntimeError):
    """No butter dbt project where one was looked for."""


def read_config(folder: Path) -> dict[str, Any]:
    """``folder/dbt_project.yml``, parsed ({} when it is empty). Raises ProjectNotFound when it
    is not valid YAML, OSError when it cannot be read."""
    path = folder / PROJECT_FILE
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ProjectNotFound(f"{path} is not valid YAML: {exc}") from exc
    return config if isinstance(config, dict) else {}


def dbt_var(config: Mapping[str, Any], name: str) -> Any:
    """The value of the var ``name`` declared in a parsed dbt_project.yml (its one default)."""
    return (config.get("vars") or {})[name]


def parse_vars(text: str) -> Any:
    """The value of a dbt ``--vars`` argument (YAML, as dbt reads it); ValueError when it is not YAML."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc).splitlines()[0]) from None


def project_name(folder: Path) -> str | None:
    """The ``name`` in ``folder/dbt_project.yml``, or None when there is no such file."""
    if not (folder / PROJECT_FILE).is_file():
        return None
    config = read_config(folder)
    return str(config["name"]) if config.get("name") is not None else ""


def _checked(folder: Path, source: str) -> Path:
    folder = folder.expanduser().resolve()
    name = project_name(folder) if folder.is_dir() else None
    if name is None:
        raise ProjectNotFound(f"{source}: {folder} has no {PROJECT_FILE}; point it at the butter repository")
    if name != PROJECT_NAME:
        raise ProjectNotFound(f"{source}: {folder / PROJECT_FILE} is the dbt project {name!r}, not {PROJECT_NAME!r}")
    return folder


def find_root(explicit: str | os.PathLike[str] | None = None, *, cwd: Path | None = None,
              environ: Mapping[str, str] | None = None) -> Path:
    """The butter project folder; raises ``ProjectNotFound`` saying where it looked."""
    given = settings.get(ENV_VAR, environ)
    if explicit:
        return _checked(Path(explicit), "--project-dir")
    if given:
        return _checked(Path(given), ENV_VAR)
    start = (cwd or Path.cwd()).resolve()
    others = []
    for folder in (start, *start.parents):
        name = project_name(folder)
        if name == PROJECT_NAME:
            return folder
        if name is not None:
            others.append(f"{folder / PROJECT_FILE} ({name!r})")
    seen = f"; found only other dbt projects: {', '.join(others)}" if others else ""
    raise ProjectNotFound(
        f"no {PROJECT_FILE} named {PROJECT_NAME!r} in {start} or any folder above it{seen}. "
        f"Run butter inside the repository, pass --project-dir DIR or set {ENV_VAR}."
    )
