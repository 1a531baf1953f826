"""One error path: the exit codes `butter --help` documents are the ones the CLI returns, and every
exception the package raises to the user is a ``ButterError`` caught by ``cli.guarded``."""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from butter_warehouse import cli, dbt_runner, drift, errors, pipeline
from butter_warehouse.commands import codegen as codegen_command

from conftest import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "butter_warehouse"
#: exceptions that never reach the user (errors.py's docstring says why each)
INTERNAL = {"figures.model.FigureSkipped", "download.TransferError", "context.NoProject"}


def documented_codes() -> dict[int, str]:
    """The exit codes in `butter --help`'s epilog."""
    epilog = cli.parser().format_help().split("exit codes:\n", 1)[1]
    return {int(code): text for code, text in re.findall(r"^ +(\d+)  (.+)$", epilog, flags=re.M)}


def test_help_documents_every_exit_code_once() -> None:
    assert documented_codes().keys() == errors.EXIT_CODES.keys() == {0, 1, 2, 3, 130}
    assert "exit codes: `butter --help`" in (PROJECT_ROOT / "README.md").read_text()


def test_help_shows_each_commands_real_options() -> None:
    """The usage lines come from the parsers: every option of every command is in `butter --help`."""
    text = cli.parser().format_help()
    top = cli.parser()
    sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        assert f"    butter {name}" in text, name
        for action in command._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert option in text, (name, option)


# --- one representative failure of each documented kind ----------------------------------------


def success(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    return ["--project-dir", str(PROJECT_ROOT), "codegen", "--check"]


def bad_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    monkeypatch.setenv("BUTTER_HTTP_TIMEOUT", "30s")
    return ["--project-dir", str(PROJECT_ROOT), "scan"]


def unknown_target(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    return ["--project-dir", str(PROJECT_ROOT), "build", "--target", "nope"]


def data_root_changed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """A build whose scan and dbt steps pass (stubbed) and whose data root then changed."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("BUTTER_DATA_ROOT", str(data))
    monkeypatch.setenv("BUTTER_DUCKDB_PATH", str(tmp_path / "w" / "butter.duckdb"))
    monkeypatch.setattr(pipeline, "run_scan", lambda *args, **kwargs: True)
    monkeypatch.setattr(dbt_runner, "run_dbt", lambda *args, **kwargs: 0)
    monkeypatch.setattr(drift, "check", lambda *args, **kwargs: f"the data root {data} changed during the build")
    return ["--project-dir", str(PROJECT_ROOT), "build", "--skip-docs"]


def interrupted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    def run(*args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(codegen_command, "run", run)
    monkeypatch.setenv("BUTTER_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    return ["--project-dir", str(PROJECT_ROOT), "codegen"]


CASES: dict[int, tuple[Callable[[pytest.MonkeyPatch, Path], list[str]], str]] = {
    0: (success, ""),
    1: (bad_setting, "butter: BUTTER_HTTP_TIMEOUT must be a number of seconds (e.g. 30), got '30s'\n"),
    2: (unknown_target, "butter build: no target 'nope' in profiles.yml (targets: "),
    3: (data_root_changed, "BUTTER: the data root "),
    130: (interrupted, "butter: interrupted; "),
}


def test_every_documented_code_has_a_case() -> None:
    assert CASES.keys() == documented_codes().keys()


@pytest.mark.parametrize("code", sorted(CASES))
def test_the_cli_returns_the_documented_code(code: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    make_args, message = CASES[code]
    assert cli.main(make_args(monkeypatch, tmp_path)) == code
    err = capsys.readouterr().err
    assert err.startswith(message) if message else err == "", err
    assert "Traceback" not in err


def test_a_usage_error_is_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    """argparse's own errors (here a --quarantine-limit that is not a share) are code 2 too."""
    with pytest.raises(SystemExit) as exited:
        cli.main(["build", "--quarantine-limit", "5%"])
    assert exited.value.code == errors.INPUT
    assert "--quarantine-limit must be a number between 0 and 1, not '5%'" in capsys.readouterr().err


# --- every exception of the package is on the one path, or internal ----------------------------


def package_exceptions() -> dict[str, type[BaseException]]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        module = importlib.import_module(f"butter_warehouse.{name}".removesuffix(".__init__"))
        for attr, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module.__name__:
                found[f"{name}.{attr}"] = value
    return found


def test_every_exception_is_a_butter_error_or_internal() -> None:
    exceptions = package_exceptions()
    assert INTERNAL <= exceptions.keys()
    outside = sorted(n for n, cls in exceptions.items() if not issubclass(cls, errors.ButterError) and n not in INTERNAL)
    assert outside == [], "derive these from errors.ButterError (or say in errors.py why they never reach the user)"
    for name in INTERNAL:
        assert name.split(".")[-1] in (errors.__doc__ or ""), name
        assert not issubclass(exceptions[name], errors.ButterError), name
    for cls in exceptions.values():
        if issubclass(cls, errors.ButterError):
            assert cls.exit_code in errors.EXIT_CODES, cls
