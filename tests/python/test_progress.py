"""Progress lines (butter_warehouse.progress) and the dbt heartbeat (butter_warehouse.dbt_progress).

Terminals are simulated with a stream whose ``isatty()`` answers as told and a
clock the test advances, so every expected figure follows from the test's own
numbers.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from butter_warehouse import demo
from butter_warehouse.dbt_progress import DbtWatcher, heartbeat_interval, run
from butter_warehouse.progress import Progress, enabled_for, format_duration, format_rate, status_line, track


class Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _no_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("BUTTER_PROGRESS", raising=False)


# --- when progress is shown ---------------------------------------------------------------------


def test_shown_on_a_terminal_only() -> None:
    assert enabled_for(Stream(tty=True), {}) is True
    assert enabled_for(Stream(tty=False), {}) is False


@pytest.mark.parametrize("ci, shown", [("true", False), ("1", False), ("false", True), ("", True)])
def test_ci_silences_a_terminal(ci: str, shown: bool) -> None:
    assert enabled_for(Stream(tty=True), {"CI": ci}) is shown


def test_override_wins_over_terminal_and_ci() -> None:
    assert enabled_for(Stream(tty=False), {"BUTTER_PROGRESS": "always", "CI": "true"}) is True
    assert enabled_for(Stream(tty=True), {"BUTTER_PROGRESS": "never"}) is False


def test_closed_stream_is_not_a_terminal() -> None:
    stream = io.StringIO()
    stream.close()
    assert enabled_for(stream, {}) is False


# --- what the line says -------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [0, 59, 61, 3599, 3600, 7 * 3600 + 125])
def test_format_duration_keeps_every_second_up_to_an_hour(seconds: int) -> None:
    text = format_duration(seconds)
    if seconds < 60:
        assert text == f"{seconds}s"
    elif seconds < 3600:
        assert text == f"{seconds // 60}m {seconds % 60:02d}s"
    else:
        assert text == f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


@pytest.mark.parametrize("rate, expected", [
    (250.4, "250 rows/s"), (12.345, "12.3 rows/s"), (0.5, "30.0 rows/min"), (1 / 600, "6.0 rows/h"),
])
def test_format_rate_picks_a_readable_unit(rate: float, expected: str) -> None:
    assert format_rate(rate, "row") == expected


def test_terminal_line_has_done_total_rate_and_time_left() -> None:
    stream, clock = Stream(tty=True), Clock()
    total, done, elapsed = 10, 3, 2.0
    with Progress("demo", total=total, unit="run", stream=stream, clock=clock, min_interval=0) as bar:
        clock.now += elapsed
        bar.update(done)
        rate = done / elapsed
        last = stream.getvalue().split("\r")[-1].rstrip()
        assert last == (f"demo: {done}/{total} runs ({100 * done // total}%), {rate:.1f} runs/s, "
                        f"{format_duration((total - done) / rate)} left")
        clock.now += elapsed
        bar.update(total - done)
    final = stream.getvalue().split("\r")[-1]
    assert final.endswith("\n")
    assert final.rstrip() == f"demo: {total}/{total} runs (100%) in {format_duration(2 * elapsed)}, {total / (2 * elapsed):.1f} runs/s"


def test_unknown_total_shows_count_rate_and_elapsed() -> None:
    line = status_line("export", 250_000, None, "row", 4.0)
    assert line == f"export: 250,000 rows, {250_000 / 4:,.0f} rows/s, {format_duration(4)} elapsed"


def test_redraws_are_throttled_and_overwrite_in_place() -> None:
    stream, clock = Stream(tty=True), Clock()
    with Progress("scan", total=1000, unit="file", stream=stream, clock=clock, min_interval=1.0) as bar:
        for _ in range(100):  # 100 updates within 0.99 s: no redraw after the first line
            clock.now += 0.0099
            bar.update()
        drawn = stream.getvalue().count("\r")
        clock.now += 1.0
        bar.update()
        assert stream.getvalue().count("\r") == drawn + 1
    assert "\n" not in stream.getvalue()[:-1], "one line, redrawn with carriage returns"


def test_not_a_terminal_writes_nothing() -> None:
    stream = Stream(tty=False)
    with Progress("demo", total=5, stream=stream) as bar:
        bar.update(5)
    assert stream.getvalue() == ""
    assert bar.done == 5


def test_track_yields_everything_and_counts_from_len() -> None:
    stream = Stream(tty=True)
    files = [f"part-{i}.parquet" for i in range(7)]
    assert list(track(files, "scan all_runs", unit="file", stream=stream)) == files
    assert f"scan all_runs: {len(files)}/{len(files)} files (100%) in " in stream.getvalue()


def test_track_without_len_has_no_total() -> None:
    stream = Stream(tty=True)
    assert sum(track((i for i in range(4)), "scan", stream=stream)) == 6
    assert "scan: 4 items in " in stream.getvalue()


# --- the demo generator -------------------------------------------------------------------------


def test_demo_generator_reports_runs_of_total(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = demo.generate(tmp_path / "shown", experiments=90, runs_per_experiment=2, epochs=10, progress=True)
    err = capsys.readouterr().err
    trained = manifest["totals"]["runs_trained"]
    assert f"{trained}/{trained} runs (100%) in " in err
    demo.generate(tmp_path / "auto", experiments=90, runs_per_experiment=2, epochs=10)  # stderr is captured: no tty
    assert capsys.readouterr().err == ""


# --- the dbt heartbeat --------------------------------------------------------------------------

DBT_LINES = [
    "\x1b[0m10:55:31  1 of 4 START sql table model marts.run_best_epochs ........ [RUN]",
    "\x1b[0m10:55:31  2 of 4 START sql view model staging.stg_butter__all_runs ...... [RUN]",
    "\x1b[0m10:55:32  2 of 4 OK created sql view model staging.stg_butter__all_runs . [\x1b[32mOK\x1b[0m in 0.1s]",
    "\x1b[0m10:55:32  1 of 1 START hook: butter.on-run-end.0 ...... [RUN]",
]


def test_watcher_follows_starts_and_ends() -> None:
    clock = Clock()
    watcher = DbtWatcher(clock=clock)
    for line in DBT_LINES[:3]:
        watcher.feed(line)
    assert (watcher.total, watcher.done) == (4, 1)
    assert [name for name, _ in watcher.running.values()] == ["marts.run_best_epochs"]
    watcher.feed(DBT_LINES[3])  # a hook counts "1 of 1" on its own: not a node
    assert (watcher.total, watcher.done) == (4, 1)


def test_heartbeat_only_for_a_long_node_and_says_how_far() -> None:
    clock = Clock()
    watcher = DbtWatcher(clock=clock)
    for dbt_line in DBT_LINES[:3]:
        watcher.feed(dbt_line)
    assert watcher.heartbeat(30) is None  # nothing has run for 30 s yet
    clock.now += 95
    line = watcher.heartbeat(30)
    rate = 1 / 95  # one node done in the 95 s since the first started
    assert line == (f"BUTTER progress: 1/4 nodes done (25%), {format_rate(rate, 'node')}, ~{format_duration(3 / rate)} left; "
                    f"running marts.run_best_epochs ({format_duration(95)})")


def test_heartbeat_when_dbt_is_silent_before_any_node() -> None:
    clock = Clock()
    watcher = DbtWatcher(clock=clock)
    watcher.feed("\x1b[0m10:55:00  Running with dbt=1.11.16")
    clock.now += 29
    assert watcher.heartbeat(30) is None
    clock.now += 61
    assert watcher.heartbeat(30) == f"BUTTER progress: dbt has printed nothing for {format_duration(90)}"


def test_heartbeat_interval_from_environment() -> None:
    assert heartbeat_interval({}) == 30
    assert heartbeat_interval({"BUTTER_HEARTBEAT_SECONDS": "2.5"}) == 2.5
    with pytest.raises(ValueError, match="BUTTER_HEARTBEAT_SECONDS"):
        heartbeat_interval({"BUTTER_HEARTBEAT_SECONDS": "soon"})


FAKE_DBT = """
import sys, time
print("1 of 2 START sql table model marts.slow_one ...... [RUN]", flush=True)
time.sleep(1.5)
print("1 of 2 OK created sql table model marts.slow_one ... [OK in 1.5s]", flush=True)
print("2 of 2 START test not_null_x ... [RUN]", flush=True)
print("2 of 2 FAIL 1 not_null_x ... [FAIL 1]", flush=True)
sys.exit(3)
"""


def test_run_passes_output_through_adds_heartbeats_and_keeps_the_exit_code() -> None:
    stream = Stream(tty=True)
    code = run([sys.executable, "-c", FAKE_DBT], cwd=".", env={"PATH": ""}, stream=stream, interval=0.3)
    out = stream.getvalue()
    assert code == 3
    assert "1 of 2 OK created sql table model marts.slow_one" in out
    assert "2 of 2 FAIL 1 not_null_x" in out
    beats = [line for line in out.splitlines() if line.startswith("BUTTER progress:")]
    assert beats and all("running marts.slow_one" in line and "0/2 nodes done" in line for line in beats)
    assert out.index(beats[0]) < out.index("1 of 2 OK created")


def test_run_off_a_terminal_leaves_dbt_alone(tmp_path: Path) -> None:
    stream = Stream(tty=False)
    marker = tmp_path / "ran.json"
    script = f"import json; json.dump({{'ran': True}}, open({str(marker)!r}, 'w')); raise SystemExit(5)"
    assert run([sys.executable, "-c", script], cwd=".", env={}, stream=stream, interval=0.1) == 5
    assert json.loads(marker.read_text()) == {"ran": True}
    assert stream.getvalue() == ""


LINGERING_HELPER = """
import subprocess, sys
# a helper that outlives this process and still writes to the inherited stderr,
# like multiprocessing's resource tracker after dbt is terminated
subprocess.Popen([sys.executable, "-c", "import sys, time; time.sleep(1); print('helper: late', file=sys.stderr)"])
print('dbt: early', file=sys.stderr)
"""


@pytest.mark.parametrize("tty", [False, True])
def test_run_returns_after_the_last_error_output_of_dbt_and_its_helpers(
    tty: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = Stream(tty=tty)
    assert run([sys.executable, "-c", LINGERING_HELPER], cwd=".", env={}, stream=stream, interval=30) == 0
    print("caller: last line", file=sys.stderr)
    captured = (capsys.readouterr().err if not tty else stream.getvalue() + capsys.readouterr().err).splitlines()
    assert captured[-3:] == ["dbt: early", "helper: late", "caller: last line"], captured
