"""The house: what a clone tracks, the runtime/dev split, and finding the dbt project."""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from butter_warehouse import cli, project
from butter_warehouse.commands import codegen as codegen_command
from butter_warehouse.context import Context
from butter_warehouse.project import ProjectNotFound, find_root

from conftest import PROJECT_ROOT

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

#: test and lint tools that `make build` must not install
DEV_ONLY = {"playwright", "moto", "flask", "pytest", "sqlfluff", "ruff", "mypy", "boto3", "sqlalchemy", "duckdb-engine"}


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True).stdout


needs_git = pytest.mark.skipif(
    shutil.which("git") is None or not (PROJECT_ROOT / ".git").exists(), reason="not a git checkout"
)


# --- tracked files -------------------------------------------------------------------------------


@needs_git
def test_no_build_output_or_applied_patches_are_tracked() -> None:
    tracked = git("ls-files").splitlines()
    offending = [p for p in tracked if ".egg-info/" in p or p.endswith((".diff", ".patch", ".orig"))
                 or p.split("/")[0] in {"warehouse", "data", "target", "logs", "build", "dist", ".venv"}]
    assert offending == []


@needs_git
@pytest.mark.parametrize("path", [
    "butter_warehouse.egg-info/PKG-INFO", "build/lib/x.py", "dist/x.whl", "warehouse/butter.duckdb",
    "data/demo/all_runs/x.parquet", "target/manifest.json", "logs/dbt.log", ".venv/bin/python",
])
def test_build_output_is_ignored(path: str) -> None:
    assert git("check-ignore", "--no-index", path).strip() == path


# --- runtime and development requirements ------------------------------------------------------


def read_lock(path: Path) -> tuple[dict[str, str], list[str]]:
    """``{canonical name: version}`` and the ``-r`` includes of a pip lock file."""
    pins: dict[str, str] = {}
    includes: list[str] = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-r "):
            includes.append(line[3:].strip())
            continue
        name, sep, version = line.partition("==")
        assert sep and version, f"{path.name}: {line!r} is not an exact pin"
        pins[canonicalize_name(name)] = version
    return pins, includes


RUNTIME, RUNTIME_INCLUDES = read_lock(PROJECT_ROOT / "requirements.lock")
DEV, DEV_INCLUDES = read_lock(PROJECT_ROOT / "requirements-dev.lock")
BI, BI_INCLUDES = read_lock(PROJECT_ROOT / "requirements-bi.lock")
PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())


def test_runtime_lock_has_no_dev_tools() -> None:
    assert RUNTIME_INCLUDES == []
    assert sorted(DEV_ONLY & set(RUNTIME)) == []


def test_dev_lock_adds_to_the_runtime_lock() -> None:
    assert DEV_INCLUDES == ["requirements.lock"]
    assert sorted(set(DEV) & set(RUNTIME)) == [], "a package pinned in both locks could disagree"
    assert DEV_ONLY <= set(DEV)


def test_bi_lock_adds_what_the_bi_document_uses_to_the_runtime_lock() -> None:
    """`make install-bi` gives what docs/bi-access.md imports: SQLAlchemy 2.0.x, duckdb-engine, pandas."""
    assert BI_INCLUDES == ["requirements.lock"]
    assert sorted(set(BI) & set(RUNTIME)) == [], "a package pinned in both locks could disagree"
    assert {"sqlalchemy", "duckdb-engine", "pandas"} <= set(BI)
    assert BI["sqlalchemy"].startswith("2.0."), BI["sqlalchemy"]
    shared = set(BI) & set(DEV)
    assert {name: BI[name] for name in shared} == {name: DEV[name] for name in shared}
    # what `make install-bi` would run (make's dry run, as if nothing were installed: nothing is executed)
    dry_run = subprocess.run(["make", "-n", "-B", "--no-print-directory", "install-bi"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                             check=True).stdout
    assert any("pip install" in line and "-r requirements-bi.lock" in line for line in dry_run.splitlines()), dry_run
    bi_doc = (PROJECT_ROOT / "docs" / "bi-access.md").read_text()
    assert "make install-bi" in bi_doc and ".df()" in bi_doc


@pytest.mark.parametrize("group", ["runtime", "dev", "bi"])
def test_pyproject_ranges_are_met_by_the_locks(group: str) -> None:
    declared = PYPROJECT["project"]["dependencies"] if group == "runtime" else \
        PYPROJECT["project"]["optional-dependencies"][group]
    pins = RUNTIME if group == "runtime" else {**RUNTIME, **(DEV if group == "dev" else BI)}
    for text in declared:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{text} (pyproject {group}) is not pinned in the {group} lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} breaks {text}"
        if group != "runtime":
            assert name in (DEV if group == "dev" else BI), f"{name} ({group}) is pinned in the runtime lock"


def test_ruff_is_pinned_and_configured() -> None:
    dev = [Requirement(t) for t in PYPROJECT["project"]["optional-dependencies"]["dev"]]
    ruff = next(r for r in dev if r.name == "ruff")
    assert str(ruff.specifier) == f"=={DEV['ruff']}"
    assert set(PYPROJECT["tool"]["ruff"]["lint"]["select"]) >= {"E", "F", "W", "I", "B", "UP"}


def test_mypy_is_pinned_and_configured() -> None:
    """A range in the dev extra, the exact version in requirements-dev.lock, the config in pyproject.toml;
    modules without stubs are let off one by one, never all at once."""
    dev = [Requirement(t) for t in PYPROJECT["project"]["optional-dependencies"]["dev"]]
    mypy = next(r for r in dev if r.name == "mypy")
    assert mypy.specifier.contains(DEV["mypy"]) and "==" not in str(mypy.specifier)
    config = PYPROJECT["tool"]["mypy"]
    assert "butter_warehouse" in config["files"] and config.get("ignore_missing_imports") is not True
    for override in config.get("overrides", []):
        assert "butter_warehouse" not in str(override["module"]), override


def runtime_imports() -> dict[str, set[str]]:
    """Top-level modules imported by each module of the installed package."""
    found = {}
    for path in sorted((PROJECT_ROOT / "butter_warehouse").rglob("*.py")):
        tree = ast.parse(path.read_text())
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module.split(".")[0] for n in ast.walk(tree)
                  if isinstance(n, ast.ImportFrom) and n.module and n.level == 0}
        found[str(path.relative_to(PROJECT_ROOT))] = names
    return found


def test_package_needs_no_dev_tool_and_test_support_lives_with_the_tests() -> None:
    dev_modules = {"moto", "boto3", "flask", "playwright", "pytest", "sqlalchemy", "duckdb_engine", "sqlfluff"}
    leaks = {path: sorted(names & dev_modules) for path, names in runtime_imports().items() if names & dev_modules}
    assert leaks == {}
    assert not (PROJECT_ROOT / "butter_warehouse" / "s3_emulator.py").exists()
    assert (Path(__file__).parent / "s3_emulator.py").is_file()


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_targets_run_their_steps_in_order(tmp_path: Path) -> None:
    """`make build/lint/test/test-fast` run on a copy of the Makefile and scripts whose
    .venv/bin tools are stubs that log their arguments: what each target runs, in order
    (the runtime lock only for `make build`; the dev lock for lint and tests)."""
    for name in ("Makefile", "pyproject.toml", "requirements.lock", "requirements-dev.lock",
                 "requirements-spark.lock"):
        shutil.copy(PROJECT_ROOT / name, tmp_path / name)
    shutil.copytree(PROJECT_ROOT / "scripts", tmp_path / "scripts")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    calls = tmp_path / "calls.log"
    for tool in ("python", "pip", "butter", "ruff", "mypy", "sqlfluff"):
        (bin_dir / tool).write_text('#!/bin/sh\necho "$(basename "$0") $*" | sed "s/ $//" >> "$CALLS_LOG"\n')
        (bin_dir / tool).chmod(0o755)

    def make(target: str) -> list[str]:
        calls.write_text("")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
        subprocess.run(["make", target], cwd=tmp_path, env={**env, "CALLS_LOG": str(calls)},
                       capture_output=True, text=True, check=True)
        return calls.read_text().splitlines()

    lint = ["butter codegen --check", "ruff check .", "mypy",
            "sqlfluff lint models macros tests analyses --disable-progress-bar"]
    assert make("build") == ["pip install --quiet -r requirements.lock", "pip install --quiet --no-deps -e .",
                             "butter build", "butter figures"]
    assert make("lint") == ["pip install --quiet -r requirements-dev.lock", *lint]
    assert make("test") == ["pip install --quiet --no-deps -r requirements-spark.lock", "pip check",
                            *lint, "python -m pytest --durations=30"]
    assert make("test-fast") == ["butter codegen --check", "ruff check .", "mypy",
                                 "python -m pytest tests/python -m fast or not (slow or spark)"]


# --- finding the dbt project --------------------------------------------------------------------


def make_project(folder: Path, name: str = "butter") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dbt_project.yml").write_text(f"name: '{name}'\nversion: '1.0.0'\n")
    return folder


def test_found_upward_from_a_subfolder(tmp_path: Path) -> None:
    root = make_project(tmp_path / "repo")
    nested = root / "models" / "marts"
    nested.mkdir(parents=True)
    assert find_root(cwd=nested, environ={}) == root.resolve()


def test_explicit_folder_then_environment_then_search(tmp_path: Path) -> None:
    a, b, c = (make_project(tmp_path / n) for n in "abc")
    env = {project.ENV_VAR: str(b)}
    assert find_root(a, cwd=c, environ=env) == a.resolve()
    assert find_root(None, cwd=c, environ=env) == b.resolve()
    assert find_root(None, cwd=c, environ={}) == c.resolve()


def test_another_dbt_project_is_not_taken(tmp_path: Path) -> None:
    outer = make_project(tmp_path)
    inner = make_project(tmp_path / "other", name="jaffle_shop")
    assert find_root(cwd=inner, environ={}) == outer.resolve()
    with pytest.raises(ProjectNotFound, match=r"is the dbt project 'jaffle_shop', not 'butter'"):
        find_root(inner, environ={})


def test_nothing_found_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProjectNotFound, match=r"no dbt_project.yml named 'butter' in .* or any folder above it.*--project-dir"):
        find_root(cwd=tmp_path, environ={})
    with pytest.raises(ProjectNotFound, match=rf"{project.ENV_VAR}: .*missing has no dbt_project.yml"):
        find_root(cwd=tmp_path, environ={project.ENV_VAR: str(tmp_path / "missing")})


def test_cli_uses_the_working_directory_not_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(project.ENV_VAR, raising=False)
    monkeypatch.chdir(PROJECT_ROOT / "models")
    seen: list[Path | None] = []
    run = codegen_command.run

    def recording_run(ctx: Context, args: argparse.Namespace) -> int:
        seen.append(ctx.project_root)
        return run(ctx, args)

    monkeypatch.setattr(codegen_command, "run", recording_run)
    assert cli.main(["codegen", "--check"]) == 0
    assert seen == [PROJECT_ROOT.resolve()]
    monkeypatch.chdir(tmp_path)
    assert cli.main(["codegen", "--check"]) == 2
    assert "no dbt_project.yml named 'butter'" in capsys.readouterr().err
    assert cli.main(["--project-dir", str(PROJECT_ROOT), "codegen", "--check"]) == 0
