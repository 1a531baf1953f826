"""The project runs on Python 3.11+ and says so where it is installed: pip
(pyproject.toml requires-python) and `make`, which refuses an older interpreter
before it creates the virtual environment."""

import os
import stat
import subprocess
import sys
from pathlib import Path

from conftest import PROJECT_ROOT


def _fake_python(folder: Path, version: str) -> Path:
    """A stand-in interpreter that reports `version` and fails the version gate as that Python would."""
    major, minor = (int(part) for part in version.split(".")[:2])
    script = folder / "python-fake"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--version" ]; then echo "Python {version}"; exit 0; fi\n'
        f'exec {sys.executable} -c "import sys; sys.version_info = ({major}, {minor}, 0); exec(sys.argv[1])" "$2"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def _make_venv(tmp_path: Path, python: Path) -> subprocess.CompletedProcess[str]:
    venv = tmp_path / "venv"
    return subprocess.run(
        ["make", f"VENV={venv}", f"PYTHON={python}", f"{venv}/bin/python"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "MAKEFLAGS": ""},
        timeout=120,
    )


def test_make_refuses_python_310_before_creating_the_venv(tmp_path: Path) -> None:
    result = _make_venv(tmp_path, _fake_python(tmp_path, "3.10.14"))
    assert result.returncode != 0
    assert "needs Python 3.11 or newer" in result.stderr and "Python 3.10.14" in result.stderr
    assert not (tmp_path / "venv").exists()


def test_the_gate_lets_python_311_through(tmp_path: Path) -> None:
    # the same gate, with the stand-in reporting 3.11: it gets past the check to `-m venv`,
    # which the stand-in cannot do, so the failure is venv's, not the version message
    result = _make_venv(tmp_path, _fake_python(tmp_path, "3.11.7"))
    assert "needs Python 3.11" not in result.stderr
    assert "python-fake -m venv" in result.stdout
