"""Shared pytest fixtures: demo data roots and a dbt runner.

Demo data is generated once per session and parameter set; dbt runs get their own
DuckDB file, target and log folders so tests never share state.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from butter_warehouse.contract import Spelling

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class DbtResult:
    """Outcome of one dbt command."""

    def __init__(self, proc: subprocess.CompletedProcess[str], db_path: Path, target_path: Path) -> None:
        self.returncode = proc.returncode
        self.output = proc.stdout + proc.stderr
        self.db_path = db_path
        self.target_path = target_path

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def __repr__(self) -> str:  # shows the dbt log tail when an assert fails
        return f"DbtResult(rc={self.returncode}, output tail=\n{self.output[-4000:]})"


def run_dbt(
    args: list[str],
    *,
    data_root: Path | str,
    workdir: Path,
    extra_env: dict[str, str] | None = None,
    timeout: float = 600,
) -> DbtResult:
    """Run dbt in the project with its own DuckDB file/target/logs under ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "butter.duckdb"
    target_path = workdir / "target"
    env = dict(os.environ)
    env.update(
        {
            "DBT_PROFILES_DIR": str(PROJECT_ROOT),
            "BUTTER_DATA_ROOT": str(data_root),
            "BUTTER_DUCKDB_PATH": str(db_path),
            "DBT_TARGET_PATH": str(target_path),
            "DBT_LOG_PATH": str(workdir / "logs"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_USE_COLORS": "false",
        }
    )
    env.update(extra_env or {})
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return DbtResult(proc, db_path, target_path)


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``demo_root(spelling="published", **sizes)`` -> a generated demo data root (cached)."""
    from butter_warehouse import demo

    cache: dict[tuple, Path] = {}

    def make(spelling: Spelling = "published", **kwargs: Any) -> Path:
        key = (spelling, tuple(sorted(kwargs.items())))
        if key not in cache:
            root = tmp_path_factory.mktemp(f"demo-{spelling}")
            demo.generate(root, spelling=spelling, **kwargs)
            cache[key] = root
        return cache[key]

    return make


@pytest.fixture(scope="session")
def built_warehouse(demo_root: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], DbtResult]:
    """``built_warehouse(spelling)`` -> result of a full ``dbt build`` on default demo data (cached)."""
    cache: dict[str, DbtResult] = {}

    def build(spelling: str = "published") -> DbtResult:
        if spelling not in cache:
            workdir = tmp_path_factory.mktemp(f"build-{spelling}")
            result = run_dbt(["build"], data_root=demo_root(spelling), workdir=workdir)
            assert result.ok, result
            cache[spelling] = result
        return cache[spelling]

    return build
