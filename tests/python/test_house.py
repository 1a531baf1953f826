"""The house: what a clone tracks, the runtime/dev split, finding the dbt project, and the documents
(links and anchors resolve inside the repository; reference text carries no history; each fact in one place)."""

from __future__ import annotations

import argparse
import ast
import os
import re
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
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS", "BUTTER_TEST_WORKERS"))}
        subprocess.run(["make", target], cwd=tmp_path, env={**env, "CALLS_LOG": str(calls)},
                       capture_output=True, text=True, check=True)
        return calls.read_text().splitlines()

    lint = ["butter codegen --check", "ruff check .", "mypy",
            "sqlfluff lint models macros tests analyses --disable-progress-bar"]
    assert make("build") == ["pip install --quiet -r requirements.lock", "pip install --quiet --no-deps -e .",
                             "butter build", "butter figures"]
    assert make("lint") == ["pip install --quiet -r requirements-dev.lock", *lint]
    # make test: pytest with the whole lint (in its order, sqlfluff on one process) beside it
    test = make("test")
    assert test[:2] == ["pip install --quiet --no-deps -r requirements-spark.lock", "pip check"]
    pytest_call = "python -m pytest -n 3 --dist loadscope --no-loadscope-reorder --durations=30"
    assert sorted(test[2:]) == sorted([pytest_call, *lint[:3], f"{lint[3]} --processes 1"])
    assert [c for c in test[2:] if c != pytest_call] == [*lint[:3], f"{lint[3]} --processes 1"]
    assert make("test-fast") == ["butter codegen --check", "ruff check .", "mypy",
                                 "python -m pytest tests/python -n 2 --dist loadscope --no-loadscope-reorder "
                                 "-m fast or not (slow or spark)"]


# --- documents -----------------------------------------------------------------------------------

#: the Markdown documents whose links are checked
MARKDOWN = ("README.md", *sorted(f"docs/{p.name}" for p in (PROJECT_ROOT / "docs").glob("*.md")),
            "benchmarks/README.md")
#: reference text: says how things are, without project history (docs/migration.md is a history by
#: design; benchmarks/latest.md is a dated report)
REFERENCE = sorted({*MARKDOWN, "profiles.yml", "dbt_project.yml", "Makefile",
                    *(str(p.relative_to(PROJECT_ROOT)) for folder in ("macros", "models")
                      for p in (PROJECT_ROOT / folder).rglob("*") if p.suffix in {".sql", ".yml", ".md"})}
                   - {"docs/migration.md"})
#: "issue 13", "issues 17 and 18", "(issue 18)", "#18", "i20" (a branch name)
ISSUE_NUMBER = re.compile(r"(?i)\bissues?\s*#?\d+|(?<![\w#&])#\d+\b|\bi\d{2}\b")


def markdown_links(text: str) -> list[str]:
    """Targets of inline Markdown links ``[text](target)``, outside code blocks and code spans."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    text = re.sub(r"`[^`\n]*`", "", text)
    return re.findall(r"\]\(([^)\s]+)\)", text)


def heading_anchors(text: str) -> set[str]:
    """The #anchors GitHub gives a Markdown file's headings (outside code blocks)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    anchors: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        anchor, n = slug, 0
        while anchor in anchors:
            n += 1
            anchor = f"{slug}-{n}"
        anchors.add(anchor)
    return anchors


def test_self_check_markdown_links_and_anchors() -> None:
    assert markdown_links("see [a](docs/x.md#y) and [b](https://e.org) or `[c](z)`") == ["docs/x.md#y", "https://e.org"]
    assert markdown_links("```\n[a](in-code)\n```\n[b](out)") == ["out"]
    assert heading_anchors("# A title\n## `butter build` from `s3://`\n## Why DuckDB 1.5.5\n"
                           "## Full-scale plan (estimates)\n```bash\n# not a heading\n```\n## A title\n") == {
        "a-title", "butter-build-from-s3", "why-duckdb-155", "full-scale-plan-estimates", "a-title-1"}
    assert ISSUE_NUMBER.search("## One pass (issue 18)") and ISSUE_NUMBER.search("issues 17 and 18")
    assert ISSUE_NUMBER.search("merged from i20") and ISSUE_NUMBER.search("see #27")
    assert not ISSUE_NUMBER.search("[x](a.md#full-scale-estimate), 2^27 parameters, 1e-05, &#39;")


@pytest.mark.parametrize("document", MARKDOWN)
def test_document_links_and_anchors_resolve_inside_repository(document: str) -> None:
    """Every relative link of the README and the docs points at a file of this repository, and its
    #anchor at a heading of that file."""
    path = PROJECT_ROOT / document
    text = path.read_text()
    problems = []
    for target in markdown_links(text):
        if re.match(r"[a-z]+:", target):
            continue  # an absolute URL (https:, mailto:)
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.is_relative_to(PROJECT_ROOT.resolve()) or not resolved.exists():
            problems.append(f"{document}: link {target!r} does not resolve inside the repository")
        elif anchor and (resolved.suffix != ".md" or anchor not in heading_anchors(resolved.read_text())):
            problems.append(f"{document}: link {target!r}: no heading #{anchor} in {file_part or document}")
    assert not problems, "\n".join(problems)
    assert "/shared/" not in text and "../shared" not in text, f"{document} refers outside the repository"


@pytest.mark.parametrize("document", REFERENCE)
def test_reference_text_names_no_issue_numbers(document: str) -> None:
    """Reference documents and comments state how things are; which issue changed them is history
    (git log, docs/migration.md)."""
    lines = (PROJECT_ROOT / document).read_text().splitlines()
    found = [f"{document}:{n}: {line.strip()}" for n, line in enumerate(lines, 1) if ISSUE_NUMBER.search(line)]
    assert not found, "\n".join(found)


#: facts stated once: a phrase that states the fact -> the one document (of README.md and docs/)
#: that may hold it; the others link there
ONE_HOME = {
    r"~12 h\b": "docs/performance.md",  # the full-scale estimate (a first build on 2 cores)
    r"\bper M(illion)? epochs\b": "docs/performance.md",
    r"\b500 MB/s\b": "docs/performance.md",
    r"~14 GB\b": "docs/performance.md",  # the warehouse file at full scale
    r"483 thousand": "README.md",  # the release's size, licence and citation (the dataset page)
    r"40 billion": "README.md",
    r"1\.7 TB": "README.md",
    r"CC BY-SA": "README.md",
    r"2207\.12547": "README.md",
    r"10\.25984/1872441": "README.md",
    r"data/s3-cache": "docs/architecture.md",  # BUTTER_S3_CACHE's default (the settings table)
    r"partial_parse": "docs/reliability.md",
    r"2020-2030": "docs/warehouse-interface.md",  # the MetricFlow time spine
}


@pytest.mark.parametrize("phrase", ONE_HOME)
def test_each_fact_has_one_home(phrase: str) -> None:
    holders = sorted(doc for doc in MARKDOWN if doc != "benchmarks/README.md"
                     and re.search(phrase, (PROJECT_ROOT / doc).read_text()))
    assert holders == [ONE_HOME[phrase]], f"{phrase!r} is stated in {holders}; state it in {ONE_HOME[phrase]} only"


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
