#!/usr/bin/env python
"""The full-scale estimate of docs/performance.md: the warehouse file's size and the build's time
at the size of the published data, extrapolated from measurements (never typed in).

    python benchmarks/full_scale.py                                  # demos of 400, 800, 1600 experiments
    python benchmarks/full_scale.py --sizes 400x30,800x30,800x60 --data-dir /tmp/fs --keep-data
    python benchmarks/full_scale.py sizes --db warehouse/butter.duckdb          # one warehouse's tables (JSON)

Size: each demo (``butter demo --experiments N --epochs E --runs 24``, the published runs per
experiment) is built (seeds + models, no tests) into a fresh DuckDB file; every table of it is
copied alone into a fresh DuckDB file of 16 kB blocks (``table_sizes``: the bytes its rows add
over the same table empty, at a granularity fine enough for a few thousand rows). A least-squares
line of bytes over rows gives each table's bytes per row; its rows at full scale follow its grain,
found from the demos (``grain``): rows per experiment, per run, or a fixed count (seeds, the time
spine). ``marts.experiment_learning_curves`` holds one row per experiment and grid epoch: its rows
at full scale are the experiments times the grid of a 3000-epoch curve, computed by the project's
own macro ``butter_epoch_grid`` (``curve_points``).

Time: the marginal seconds per million epochs between the smallest and the largest size of the
latest ``make benchmark`` (the table of benchmarks/latest.md), times the published epochs.

``make benchmark`` (benchmarks/run.py) measures the tables of its own seeds + models builds with
``table_sizes`` and appends the estimate (``section``) to benchmarks/latest.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent

#: the current release as the dataset page states it (README.md, "The data")
FULL_SCALE = {"experiments": 483_000, "runs": 11_200_000, "epochs": 40_000_000_000, "bytes": 1.7e12}
#: the training length of most runs (300 and 30000 in two sweeps)
TYPICAL_EPOCHS = 3000
#: the measuring files' block size: the smallest DuckDB allows, so a few thousand rows span many blocks
MEASURE_BLOCK_SIZE = 16_384
#: the table whose grain is (experiment, grid epoch)
CURVES = "marts.experiment_learning_curves"
#: the published runs per experiment (11.2 M / 483 k), given to the demos
RUNS_PER_EXPERIMENT = round(FULL_SCALE["runs"] / FULL_SCALE["experiments"])


# --------------------------------------------------------------------------- measuring
def store_beside(db: Path) -> Path:
    """The decode store `butter build` keeps beside a warehouse file (settings.decode_store_beside:
    the benchmarks run against a project path, not the installed package)."""
    return db.with_name(db.name + ".store")


def table_sizes(db: Path) -> dict[str, dict[str, int]]:
    """{schema.table: {"rows", "bytes"}} of every base table of the DuckDB file ``db`` and of its
    decode store beside it (``<db>.store``, schema ``store``), when there is one: the bytes its
    rows take when copied alone into a fresh file, over the same table empty."""
    import duckdb

    sizes: dict[str, dict[str, int]] = {}
    files = [db] + [store for store in [store_beside(db)] if store.exists()]
    with tempfile.TemporaryDirectory(prefix="butter-sizes-") as scratch:
        con = duckdb.connect()
        try:
            for file in files:
                con.execute(f"attach '{file}' as src (read_only)")
                _measure_tables(con, Path(scratch), sizes)
                con.execute("detach src")
        finally:
            con.close()
    return sizes


def _measure_tables(con: Any, scratch: Path, sizes: dict[str, dict[str, int]]) -> None:
    """table_sizes of the database attached as ``src``."""
    tables = con.execute("""
        select schema_name, table_name, estimated_size from duckdb_tables()
        where database_name = 'src' and not temporary order by 1, 2
    """).fetchall()
    for schema, table, _ in tables:
        used = {}
        for kind, limit in (("empty", " limit 0"), ("full", "")):
            path = Path(scratch) / f"{kind}.duckdb"
            con.execute(f"attach '{path}' as m (block_size {MEASURE_BLOCK_SIZE})")
            con.execute(f'create table m.t as select * from src."{schema}"."{table}"{limit}')
            con.execute("checkpoint m")
            blocks, block_size = con.execute(
                "select used_blocks, block_size from pragma_database_size() where database_name = 'm'"
            ).fetchone()
            con.execute("detach m")
            path.unlink()
            used[kind] = blocks * block_size
        rows = con.execute(f'select count(*) from src."{schema}"."{table}"').fetchone()[0]
        sizes[f"{schema}.{table}"] = {"rows": int(rows), "bytes": max(used["full"] - used["empty"], 0)}


def curve_points(project: Path = PROJECT, epochs: int = TYPICAL_EPOCHS) -> int:
    """Rows of one experiment in marts.experiment_learning_curves for a curve of ``epochs`` epochs:
    the macro butter_epoch_grid, run by dbt on DuckDB (the best epoch may add one)."""
    with tempfile.TemporaryDirectory(prefix="butter-grid-") as work:
        env = dict(os.environ, DBT_PROFILES_DIR=str(project), BUTTER_DUCKDB_PATH=str(Path(work) / "grid.duckdb"),
                   DBT_TARGET_PATH=str(Path(work) / "target"), DBT_LOG_PATH=str(Path(work) / "logs"),
                   DBT_SEND_ANONYMOUS_USAGE_STATS="false")
        sql = (f"select len({{{{ butter_epoch_grid('n', 'null', var('butter_curve_max_points')) }}}}) as points "
               f"from (select {int(epochs)} as n)")
        proc = subprocess.run([sys.executable, "-m", "dbt.cli.main", "show", "--inline", sql, "--output", "json",
                               "--log-format", "text", "-q"], cwd=project, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"dbt show of butter_epoch_grid failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    found = re.search(r"\{.*\}", proc.stdout, re.S)
    if found is None:
        raise RuntimeError(f"no JSON in dbt show's output:\n{proc.stdout[-2000:]}")
    return int(json.loads(found.group(0))["show"][0]["points"])


# --------------------------------------------------------------------------- extrapolating
def _slope(points: list[tuple[int, int]]) -> float:
    """Least-squares bytes per row over (rows, bytes) points; 0 when the rows never change."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def grain(samples: list[dict], table: str) -> str:
    """What a table's rows grow with across the demos: "fixed", "experiments" or "runs" (the
    unit whose rows-per-unit ratio varies least), or "curve points" for the learning curves."""
    if table == CURVES:
        return "curve points"
    rows = [s["tables"][table]["rows"] for s in samples]
    if len(set(rows)) == 1:
        return "fixed"

    def spread(unit: str) -> float:
        ratios = [r / s[unit] for r, s in zip(rows, samples, strict=True)]
        return statistics.pstdev(ratios) / statistics.fmean(ratios)

    return min(("experiments", "runs"), key=spread)


def estimate(samples: list[dict], points_per_curve: int) -> list[dict]:
    """Per table: bytes per row, its grain, rows and bytes at full scale. ``samples``: one per
    demo build, {"experiments", "runs", "tables": table_sizes(...)}."""
    biggest = max(samples, key=lambda s: s["runs"])
    found = []
    for table in sorted(biggest["tables"]):
        if any(table not in s["tables"] for s in samples):
            continue
        per_row = _slope([(s["tables"][table]["rows"], s["tables"][table]["bytes"]) for s in samples])
        kind = grain(samples, table)
        rows = biggest["tables"][table]["rows"]
        if kind == "fixed":
            full_rows, full_bytes = rows, biggest["tables"][table]["bytes"]
        else:
            unit = "experiments" if kind == "curve points" else kind
            per_unit = points_per_curve if kind == "curve points" else rows / biggest[unit]
            full_rows = round(per_unit * FULL_SCALE[unit])
            full_bytes = per_row * full_rows
        found.append({"table": table, "grain": kind, "bytes_per_row": per_row, "rows": full_rows,
                      "bytes": full_bytes})
    return found


def _latest_table(latest: Path) -> dict[str, list[tuple[float, float]]]:
    """From benchmarks/latest.md's table: {workload: [(million epochs, seconds) per size]}."""
    text = latest.read_text()
    header = re.search(r"^\| workload \|(.+)\|$", text, re.M)
    if header is None:
        return {}
    epochs = [float(m) for m in re.findall(r"([\d.]+) M epochs", header.group(1))]
    found = {}
    for label, key in (("floor", "floor"), ("seeds + models |", "seeds + models"),
                       ("README build (`butter build`)", "full build (`butter build`), first"),
                       ("README build again", "full build again, no data change"),
                       ("README build after adding a sweep", "full build after adding a sweep's folders"),
                       ("`dbt test` alone", "`dbt test`")):
        row = re.search(r"^\| " + re.escape(label.rstrip(" |")) + r"[^|]*\|(.+)\|$", text, re.M)
        if row is None:
            continue
        seconds = [float(s) for s in re.findall(r"([\d.]+) s,", row.group(1))]
        if len(seconds) == len(epochs) >= 2:
            found[key] = list(zip(epochs, seconds, strict=True))
    return found


def time_rows(latest: Path = HERE / "latest.md") -> list[dict]:
    """Per workload: marginal seconds per million epochs (largest minus smallest size of the
    latest benchmark) and the hours that makes for the published epochs."""
    rows = []
    for workload, points in _latest_table(latest).items():
        (e0, s0), (e1, s1) = points[0], points[-1]
        per_m = (s1 - s0) / (e1 - e0)
        rows.append({"workload": workload, "seconds_per_m_epochs": per_m,
                     "hours": per_m * FULL_SCALE["epochs"] / 1e6 / 3600})
    return rows


def _gb(value: float) -> str:
    return f"{value / 1e9:,.2f} GB" if value >= 1e8 else f"{value / 1e6:,.1f} MB"


def section(samples: list[dict], points_per_curve: int, latest: Path | None = None) -> str:
    """The estimate as Markdown: the warehouse file by table, then the build time."""
    found = estimate(samples, points_per_curve)
    total = sum(r["bytes"] for r in found)
    sizes = ", ".join(f"{s['experiments']:,} experiments / {s['runs']:,} runs" for s in samples)
    lines = [
        "## Full-scale estimate", "",
        f"Published data: {FULL_SCALE['experiments']:,} experiments, {FULL_SCALE['runs']:,} runs, "
        f"{FULL_SCALE['epochs'] / 1e9:g} billion epochs, {FULL_SCALE['bytes'] / 1e12:g} TB. "
        f"Measured on builds of {sizes}; a learning curve of {TYPICAL_EPOCHS} epochs keeps "
        f"{points_per_curve} grid epochs.", "",
        "| table | rows grow with | bytes per row | rows at full scale | size at full scale |",
        "|---|---|---|---|---|",
    ]
    for r in sorted(found, key=lambda r: -r["bytes"]):
        per_row = "-" if r["grain"] == "fixed" else f"{r['bytes_per_row']:.1f}"
        lines.append(f"| `{r['table']}` | {r['grain']} | {per_row} | {r['rows']:,} | {_gb(r['bytes'])} |")
    store = sum(r["bytes"] for r in found if r["table"].startswith("store."))
    lines += ["", f"**Warehouse file: ~{(total - store) / 1e9:.0f} GB** (the tables above but the `store.` ones; views "
              f"take no space); **decode store beside it: ~{store / 1e9:.0f} GB** (the `store.` tables)."]
    times = time_rows(latest) if latest is not None and latest.exists() else []
    if times:
        lines += ["", "| workload (latest benchmark) | seconds per M epochs | full scale |", "|---|---|---|"]
        lines += [f"| {t['workload']} | {t['seconds_per_m_epochs']:.2f} | {t['hours']:.1f} h |" for t in times]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- demo builds
def measure_demo(experiments: int, epochs: int, work: Path, *, keep: bool, layout: str | None) -> dict:
    """Demo data of ``experiments`` x ``epochs`` (24 runs each), built (seeds + models) and measured."""
    butter = Path(sys.executable).with_name("butter")
    data = work / f"demo-{experiments}x{epochs}" / "data"
    if not (keep and (data / "_demo_manifest.json").exists()):
        cmd = [str(butter), "demo", "--out", str(data), "--experiments", str(experiments), "--epochs", str(epochs),
               "--runs", str(RUNS_PER_EXPERIMENT)] + (["--layout", layout] if layout else [])
        subprocess.run(cmd, check=True, capture_output=True, text=True)
    db = data.parent / "butter.duckdb"
    for suffix in ("", ".wal", ".store", ".store.wal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    # the decode store in a file beside it, as `butter build` keeps it, so that table_sizes measures it
    env = dict(os.environ, DBT_PROFILES_DIR=str(PROJECT), BUTTER_DATA_ROOT=str(data), BUTTER_DUCKDB_PATH=str(db),
               BUTTER_DECODE_STORE=str(store_beside(db)),
               DBT_TARGET_PATH=str(data.parent / "target"), DBT_LOG_PATH=str(data.parent / "logs"),
               DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    proc = subprocess.run([sys.executable, "-m", "dbt.cli.main", "build", "--exclude", "resource_type:test",
                           "resource_type:unit_test"], cwd=PROJECT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"dbt build of {data} failed:\n{proc.stdout[-3000:]}")
    tables = table_sizes(db)
    sample = {"experiments": tables["marts.experiment_summary"]["rows"],
              "runs": tables["marts.run_best_epochs"]["rows"], "epochs": epochs, "tables": tables}
    if not keep:
        shutil.rmtree(data.parent, ignore_errors=True)
    return sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="estimate", choices=["estimate", "sizes"])
    parser.add_argument("--db", help="sizes: the DuckDB file whose tables are measured")
    parser.add_argument("--sizes", default="400x30,800x30,1600x30",
                        help="demo sizes, experiments x epochs (default 400x30,800x30,1600x30)")
    parser.add_argument("--layout", help="butter demo --layout (default: the demo's own)")
    parser.add_argument("--data-dir", default="/tmp/butter-full-scale")
    parser.add_argument("--keep-data", action="store_true")
    args = parser.parse_args()
    if args.command == "sizes":
        print(json.dumps(table_sizes(Path(args.db))))
        return
    work = Path(args.data_dir)
    work.mkdir(parents=True, exist_ok=True)
    samples = []
    for size in args.sizes.split(","):
        experiments, epochs = (int(v) for v in size.lower().split("x"))
        print(f"demo {experiments} experiments x {epochs} epochs ...", flush=True)
        samples.append(measure_demo(experiments, epochs, work, keep=args.keep_data, layout=args.layout))
    (work / "samples.json").write_text(json.dumps(samples, indent=1))
    print(section(samples, curve_points(), HERE / "latest.md"))


if __name__ == "__main__":
    main()
