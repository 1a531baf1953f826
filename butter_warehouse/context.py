"""What a ``butter`` command works on: the project folder and the settings, passed explicitly.

``cli.main`` finds the project (``project.find_root``) and makes one ``Context``;
every command gets it. It carries the settings (``cfg``: ``settings.load()``, once),
the project's ``dbt_project.yml`` (``project_config``, parsed once) and the data
root (``data_root()``: the one place a configured root is normalised). Nothing here is global: a test makes its own
``Context(project_root=...)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from . import project, settings as settings_mod
from .settings import Settings
from .storage import normalize_root


class NoProject(RuntimeError):
    """A command that needs the project ran without one: a programming error (its ``needs_project``
    said no), so not a ``ButterError``: it ends with a traceback that shows where."""


@dataclass(frozen=True)
class Context:
    """The project a command works on (None for those that need none) and its settings."""

    project_root: Path | None = None
    settings: Settings | None = None
    #: --project-dir as typed (commands without a project may still look for one)
    project_dir: str | None = None

    # --- settings: loaded when first needed, so commands that use none are not stopped by a bad one

    @property
    def cfg(self) -> Settings:
        if self.settings is None:
            object.__setattr__(self, "settings", settings_mod.load())
        assert self.settings is not None
        return self.settings

    def with_data_root(self, root: str) -> Context:
        """The same context building from another data root (the landed copy of an s3:// root)."""
        return replace(self, settings=replace(self.cfg, data_root=root))

    # --- the project's places -------------------------------------------------------------------

    @property
    def root(self) -> Path:
        if self.project_root is None:
            raise NoProject("this command needs the butter project")
        return self.project_root

    @cached_property
    def project_config(self) -> dict[str, Any]:
        """The project's dbt_project.yml, parsed once (``project.read_config``)."""
        return project.read_config(self.root)

    @property
    def demo_root(self) -> Path:
        return self.root / settings_mod.DEFAULT_DEMO_ROOT

    def data_root(self) -> str:
        """The configured data root (BUTTER_DATA_ROOT), or the demo folder. A relative local
        path is resolved against the directory butter was started in, not the project folder
        where dbt runs."""
        return normalize_root(self.cfg.data_root or str(self.demo_root))

    def warehouse_path(self) -> Path:
        """Where the published warehouse lives (BUTTER_DUCKDB_PATH; relative to the directory
        butter was started in)."""
        return self.cfg.warehouse_path(self.root)

    def site_dir(self) -> Path:
        """dbt's target folder, where ``dbt docs generate`` writes the docs site."""
        return Path(os.environ.get("DBT_TARGET_PATH") or self.root / "target")

    def process_env(self) -> dict[str, str]:
        """The environment a child process that is not dbt inherits (the local Spark cluster's JVMs)."""
        return dict(os.environ)

    def dbt_env(self) -> dict[str, str]:
        """The environment dbt runs with: this process's, the project's folders, the data root and
        every profile setting resolved by ``settings`` (profiles.yml never falls back to its own)."""
        env = dict(os.environ)
        env.setdefault("DBT_PROFILES_DIR", str(self.root))
        env["DBT_PROJECT_DIR"] = str(self.root)  # the project butter found, not a stray DBT_PROJECT_DIR
        for name in ("DBT_PROFILES_DIR", "DBT_TARGET_PATH", "DBT_LOG_PATH"):
            if env.get(name):  # absolute: `butter build` runs dbt from the build folder
                env[name] = os.path.abspath(env[name])
        env.update(self.cfg.profile_env())
        env["BUTTER_DATA_ROOT"] = self.data_root()
        # When butter ends dbt (Ctrl-C, SIGTERM), multiprocessing's resource tracker
        # frees dbt's semaphores and warns that they "leaked": noise after the one line
        # butter prints about the interruption.
        quiet = "ignore:resource_tracker:UserWarning"
        env["PYTHONWARNINGS"] = ",".join(filter(None, (env.get("PYTHONWARNINGS"), quiet)))
        return env
