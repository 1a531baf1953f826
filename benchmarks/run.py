#!/usr/bin/env python
"""Benchmark the BUTTER warehouse against a hand-written floor (see benchmarks/README.md).

    python benchmarks/run.py                      # ~10,000 runs x 3000 epochs (several GB)
    python benchmarks/run.py --quick              # tiny smoke run (seconds)
    python benchmarks/run.py --runs 2500 --series 1,2,4   # 2.5k, 5k, 10k runs
    python benchmarks/run.py --compare-project /tmp/patched-copy   # baseline vs a patched copy

Per data size, interleaved in every repetition (so machine noise hits all alike):
  floor16        one DuckDB process reading every input the marts need once: the per-run
                 best-epoch figures over all_runs, the summary curve arrays of
                 complete_summary, the keys of all sixteen folders (_workers.py floor);
  floorall       one DuckDB process decoding every per-epoch array of every folder once
                 (what verifying every copy needs; _workers.py floorall);
  numpy          (--numpy) the same figures with pyarrow record batches + vectorised numpy;
  seeds+models   dbt build of seeds + models, no tests, fresh DuckDB file;
  README build   `butter build` as the README runs it: seeds, models, every test, docs,
                 published (docs/reliability.md) (its dbt target folder persists between
                 repetitions, as a user's target/ does; every dbt command parses afresh):
                 fresh (no published warehouse, no decode store), again with no data
                 change, and after adding a sweep's folders to a root built without them;
then `dbt test` alone on the seeds+models warehouse and BI queries on the marts
(p50/p95, read_only connection). Each workload runs in its own subprocess; wall
time and the peak RSS of that process tree (os.wait4: the process and the
children it waited for) are recorded.
Results: ONE table on stdout (sizes side by side, ratios, the marginal ratio of
seeds+models to the floor, the targets of docs/performance.md), benchmarks/results/<timestamp>.json,
benchmarks/latest.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import full_scale  # benchmarks/, the script's folder, is on sys.path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
WORKERS = HERE / "_workers.py"
RUNS_PER_EXPERIMENT = 20  # the template's release; the current release has 24 (full_scale.py)


# --------------------------------------------------------------------------- measuring
def measure(cmd: list[str], *, log: Path, env: dict | None = None, cwd: Path | None = None) -> dict:
    """Run ``cmd`` (output to ``log``); wall seconds, peak RSS in MB of that process, rc, output.

    os.wait4 returns the rusage of exactly this child (dbt and DuckDB run in-process),
    so concurrent work by other users does not leak into the RSS figure.
    """
    with open(log, "w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"seconds": seconds, "rc": proc.returncode, "stdout": log.read_text(),
            "rss_mb": usage.ru_maxrss / 1024}  # ru_maxrss is KB on Linux


def last_json(text: str) -> dict:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON result in worker output:\n" + text[-2000:])


def summary(values: list[float]) -> dict:
    values = [v for v in values if v is not None]
    if not values:
        return {}
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "spread_pct": 100 * (max(values) - min(values)) / statistics.median(values) if statistics.median(values) else 0,
            "n": len(values), "values": values}


# --------------------------------------------------------------------------- data
def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def generate(root: Path, runs: int, epochs: int, *, keep: bool) -> dict:
    """Demo data with about ``runs`` runs (20 per experiment), reused when the manifest matches."""
    experiments = max(1, runs // RUNS_PER_EXPERIMENT)
    manifest_path = root / "_demo_manifest.json"
    params = {"experiments_target": experiments, "runs_per_experiment": RUNS_PER_EXPERIMENT, "epochs": epochs}
    seconds = None
    if keep and manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if all(manifest["parameters"].get(k) == v for k, v in params.items()):
            print(f"  reusing demo data in {root}", flush=True)
        else:
            manifest = None
    else:
        manifest = None
    if manifest is None:
        print(f"  generating ~{runs} runs x {epochs} epochs in {root} ...", flush=True)
        # in a subprocess: the parent must stay small, because Linux carries a parent's peak
        # RSS over fork+exec into the child's ru_maxrss (it would floor every RSS reading)
        code = (f"import sys; sys.path.insert(0, {str(PROJECT)!r}); from butter_warehouse import demo; "
                f"demo.generate({str(root)!r}, experiments={experiments}, "
                f"runs_per_experiment={RUNS_PER_EXPERIMENT}, epochs={epochs}, seed=0, progress=False)")
        root.mkdir(parents=True, exist_ok=True)
        m = measure([sys.executable, "-c", code], log=root.parent / f"generate-{root.name}.log")
        if m["rc"] != 0:
            raise RuntimeError("demo generation failed:\n" + m["stdout"][-3000:])
        seconds = m["seconds"]
        manifest = json.loads(manifest_path.read_text())
    stats = last_json(measure([sys.executable, str(WORKERS), "datastats", "--root", str(root)],
                              log=root.parent / f"datastats-{root.name}.log")["stdout"])
    rows = stats["rows"]
    info = {
        "root": str(root), "generate_seconds": seconds,
        "experiments": rows.get("complete_summary"), "runs": rows["all_runs"],
        "sweep_folder_run_rows": sum(v for k, v in rows.items() if k.endswith("_sweep_runs")),
        "epochs": epochs, "parameters": manifest.get("parameters"),
        "bytes_total": dir_bytes(root), "bytes_all_runs": dir_bytes(root / "all_runs"),
        "bytes_complete_summary": dir_bytes(root / "complete_summary"),
    }
    info["bytes_sweep_runs"] = sum(dir_bytes(root / k) for k in rows if k.endswith("_sweep_runs"))
    info["epochs_in_all_runs"] = stats["epochs_in_all_runs"]
    return info


# --------------------------------------------------------------------------- dbt
def dbt_env(project: Path, data_root: Path, db: Path, work: Path, args: argparse.Namespace) -> dict:
    """The environment of a dbt or butter command building ``db``, with its decode store in a file
    beside it, as `butter build` keeps it (so plain dbt writes and measures the store too)."""
    env = dict(os.environ)
    env.update({
        "DBT_PROFILES_DIR": str(project), "BUTTER_DATA_ROOT": str(data_root), "BUTTER_DUCKDB_PATH": str(db),
        "BUTTER_DECODE_STORE": str(full_scale.store_beside(db)),
        "DBT_TARGET_PATH": str(work / "target"), "DBT_LOG_PATH": str(work / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false",
        "BUTTER_THREADS": str(args.threads), "BUTTER_MEMORY_LIMIT": args.memory_limit,
        "BUTTER_DUCKDB_THREADS": str(args.duckdb_threads),
    })
    return env


def dbt_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "dbt.cli.main", *args]


def model_timings(work: Path) -> dict:
    path = work / "target" / "run_results.json"
    if not path.exists():
        return {}
    results = json.loads(path.read_text())["results"]
    return {r["unique_id"].split(".")[2]: round(r["execution_time"], 2) for r in results}


def build(project: Path, data_root: Path, work: Path, args: argparse.Namespace, tag: str) -> dict:
    db = work / "butter.duckdb"
    for suffix in ("", ".wal", ".store", ".store.wal"):  # fresh: no decode store either
        Path(str(db) + suffix).unlink(missing_ok=True)
    env = dbt_env(project, data_root, db, work, args)
    m = measure(dbt_cmd("build", "--exclude", "resource_type:test", "resource_type:unit_test"),
                env=env, cwd=project, log=work / f"build-{tag}.log")
    if m["rc"] != 0:
        raise RuntimeError(f"dbt build failed in {project}:\n{m['stdout'][-3000:]}")
    m["models"] = model_timings(work)
    m["db_bytes"] = db.stat().st_size
    return m


def dbt_test(project: Path, data_root: Path, work: Path, args: argparse.Namespace, tag: str) -> dict:
    env = dbt_env(project, data_root, work / "butter.duckdb", work, args)
    m = measure(dbt_cmd("test"), env=env, cwd=project, log=work / f"test-{tag}.log")
    m["tests"] = model_timings(work)
    m["slowest"] = dict(sorted(m["tests"].items(), key=lambda kv: -kv[1])[:8])
    return m


def readme_build(project: Path, data_root: Path, work: Path, args: argparse.Namespace, tag: str, *,
                 folder: str = "readme", fresh: bool = False) -> dict:
    """`butter build` of ``project`` (seeds, models, tests, docs, publish) into work/<folder>/; ``fresh``:
    with no published warehouse and no decode store there first (a first build)."""
    published = work / folder / "butter.duckdb"
    if fresh:
        shutil.rmtree(published.parent, ignore_errors=True)
    published.parent.mkdir(parents=True, exist_ok=True)
    env = dbt_env(project, data_root, published, work, args)
    env["DBT_TARGET_PATH"] = str(work / "readme-target")
    env["DBT_LOG_PATH"] = str(work / "readme-logs")
    env["DBT_PROJECT_DIR"] = str(project)
    dbt_log = work / "readme-logs" / "dbt.log"
    log_start = dbt_log.stat().st_size if dbt_log.exists() else 0
    code = (f"import sys; sys.path.insert(0, {str(project)!r}); "
            "from butter_warehouse.cli import main; sys.exit(main(['build']))")
    m = measure([sys.executable, "-c", code], env=env, cwd=project, log=work / f"{folder}-{tag}.log")
    if m["rc"] != 0:
        raise RuntimeError(f"butter build failed in {project}:\n{m['stdout'][-3000:]}")
    m.update(parse_counts(m["stdout"], dbt_log, log_start))
    return m


#: the sweep whose folders arrive after a first build, in the README build after adding a sweep
ADDED_SWEEP = ("label_noise_sweep_runs", "label_noise_sweep_summary")


def readme_after_adding_a_sweep(project: Path, data_root: Path, work: Path, args: argparse.Namespace,
                                tag: str) -> dict:
    """A first README build of a copy of the data without one sweep's folders (hard links: the same
    files, another root), then those folders added: the second build is measured."""
    partial, held = work / "partial-data", work / "partial-held"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(held, ignore_errors=True)
    shutil.copytree(data_root, partial, copy_function=os.link)
    held.mkdir()
    for folder in ADDED_SWEEP:
        shutil.move(partial / folder, held / folder)
    readme_build(project, partial, work, args, f"{tag}-partial", folder="readme-added", fresh=True)
    for folder in ADDED_SWEEP:
        shutil.move(held / folder, partial / folder)
    m = readme_build(project, partial, work, args, f"{tag}-added", folder="readme-added")
    m.pop("stdout")
    shutil.rmtree(partial, ignore_errors=True)
    return m


def parse_counts(stdout: str, dbt_log: Path, log_start: int) -> dict:
    """How the dbt commands of one `butter build` parsed the project.

    dbt_project.yml sets ``partial_parse: false``, so every dbt command should parse the whole
    project afresh: dbt then writes "Partial parsing not enabled" (debug level, so only to
    dbt.log); a command that reused a saved parse writes "Partial parsing enabled: ..." instead.
    ``dbt_commands`` counts butter's ``+ dbt`` lines.
    """
    text = ""
    if dbt_log.exists():
        with open(dbt_log, "rb") as log:
            log.seek(log_start)
            text = log.read().decode(errors="replace")
    return {"dbt_commands": sum(line.startswith("+ dbt ") for line in stdout.splitlines()),
            "fresh_parses": text.count("Partial parsing not enabled"),
            "reused_parses": text.count("Partial parsing enabled:")}


def mart_check(db: Path, log: Path) -> dict:
    return last_json(measure([sys.executable, str(WORKERS), "martcheck", "--db", str(db)], log=log)["stdout"])


# --------------------------------------------------------------------------- one size
#: the timed workloads, in table order: key -> label
WORKLOADS = {
    "floor": "floor: every input read once",
    "numpy": "pyarrow + numpy",
    "build": "seeds + models (dbt build, no tests)",
    "readme": "README build (butter build: + tests, docs)",
    "test": "dbt test alone",
}


def project_names(projects: list[Path]) -> dict[Path, str]:
    names = {p: p.name for p in projects}
    if len(set(names.values())) < len(projects):
        names = {p: f"p{i}-{p.name}" for i, p in enumerate(projects)}
    return names


def bench_size(label: str, runs: int, args: argparse.Namespace, projects: list[Path]) -> dict:
    root = Path(args.data_dir) / f"runs{runs}-epochs{args.epochs}"
    data = generate(root, runs, args.epochs, keep=args.keep_data)
    print(f"  data: {data['runs']} runs ({data['sweep_folder_run_rows']} sweep-folder copies), "
          f"{data['bytes_total'] / 1e9:.2f} GB ({data['bytes_all_runs'] / 1e9:.2f} GB all_runs)", flush=True)
    work_root = Path(args.data_dir) / f"work-{label}"
    shutil.rmtree(work_root, ignore_errors=True)
    work_root.mkdir(parents=True)
    py = sys.executable
    names = project_names(projects)
    res: dict = {"label": label, "data": data, "floor": [], "floorall": [], "numpy": [],
                 "build": {names[p]: [] for p in projects}, "readme": {names[p]: [] for p in projects},
                 "readme_again": {names[p]: [] for p in projects}, "readme_added": {names[p]: [] for p in projects},
                 "test": {}, "queries": {}, "project_names": {names[p]: str(p) for p in projects}}
    for rep in range(args.reps):
        print(f"  rep {rep + 1}/{args.reps}", flush=True)
        m = measure([py, str(WORKERS), "floor", "--root", str(root), "--db", str(work_root / "floor.duckdb"),
                     "--threads", str(args.duckdb_threads), "--memory-limit", args.memory_limit],
                    log=work_root / f"floor-{rep}.log")
        m.update(last_json(m.pop("stdout")))
        res["floor"].append(m)
        print(f"    floor  {m['seconds']:7.2f}s  {m['rss_mb']:6.0f} MB", flush=True)
        m = measure([py, str(WORKERS), "floorall", "--root", str(root), "--threads", str(args.duckdb_threads),
                     "--memory-limit", args.memory_limit], log=work_root / f"floorall-{rep}.log")
        m.update(last_json(m.pop("stdout")))
        res["floorall"].append(m)
        print(f"    floorall {m['seconds']:7.2f}s  {m['rss_mb']:6.0f} MB ({m['array_columns']} arrays in "
              f"{m['folders']} folders)", flush=True)
        if args.numpy:
            m = measure([py, str(WORKERS), "numpy", "--root", str(root)], log=work_root / f"numpy-{rep}.log")
            m.update(last_json(m.pop("stdout")))
            res["numpy"].append(m)
            print(f"    numpy  {m['seconds']:7.2f}s  {m['rss_mb']:6.0f} MB", flush=True)
        order = projects if rep % 2 == 0 else list(reversed(projects))
        for project in order:
            work = work_root / names[project]
            work.mkdir(exist_ok=True)
            m = build(project, root, work, args, str(rep))
            m.pop("stdout")
            res["build"][names[project]].append(m)
            print(f"    seeds+models[{names[project]}] {m['seconds']:7.2f}s  {m['rss_mb']:6.0f} MB", flush=True)
            if runs <= args.readme_max_runs:
                m = readme_build(project, root, work, args, str(rep), fresh=True)
                m.pop("stdout")
                res["readme"][names[project]].append(m)
                print(f"    readme[{names[project]}] {m['seconds']:7.2f}s  {m['rss_mb']:6.0f} MB "
                      f"(dbt commands: {m['dbt_commands']}, fresh parses: {m['fresh_parses']}, "
                      f"reused: {m['reused_parses']})", flush=True)
                m = readme_build(project, root, work, args, f"{rep}-again")
                m.pop("stdout")
                res["readme_again"][names[project]].append(m)
                print(f"    readme again[{names[project]}] {m['seconds']:7.2f}s  {m['rss_mb']:6.0f} MB", flush=True)
                m = readme_after_adding_a_sweep(project, root, work, args, str(rep))
                res["readme_added"][names[project]].append(m)
                print(f"    readme after adding a sweep[{names[project]}] {m['seconds']:7.2f}s  "
                      f"{m['rss_mb']:6.0f} MB", flush=True)
    res["checks"] = {"floor": res["floor"][-1]["check"],
                     "numpy": res["numpy"][-1]["check"] if res["numpy"] else None}
    for project in projects:
        work = work_root / names[project]
        db = work / "butter.duckdb"
        res["checks"][f"mart[{names[project]}]"] = mart_check(db, work / "martcheck.log")
        if project == projects[0]:  # the tables' sizes, for the full-scale estimate (full_scale.py)
            res["table_sizes"] = last_json(measure([py, str(HERE / "full_scale.py"), "sizes", "--db", str(db)],
                                                   log=work / "sizes.log")["stdout"])
        if runs <= args.test_max_runs:
            tests = []
            for rep in range(args.test_reps):
                m = dbt_test(project, root, work, args, str(rep))
                m.pop("stdout")
                tests.append(m)
                print(f"    test[{names[project]}] {m['seconds']:7.2f}s  {m['rss_mb']:6.0f} MB rc={m['rc']}",
                      flush=True)
            res["test"][names[project]] = tests
        if args.query_reps:
            m = measure([py, str(WORKERS), "queries", "--db", str(db), "--reps", str(args.query_reps),
                         "--threads", str(args.duckdb_threads)], log=work / "queries.log")
            m.update(last_json(m.pop("stdout")))
            res["queries"][names[project]] = m
            print(f"    queries[{names[project]}] worst p95 {m['worst_p95_ms']:.1f} ms  {m['rss_mb']:.0f} MB",
                  flush=True)
    res["db_bytes"] = {n: v[-1]["db_bytes"] for n, v in res["build"].items()}
    if not args.keep_data:
        shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(work_root, ignore_errors=True)
    return res


# --------------------------------------------------------------------------- report
def machine() -> dict:
    from importlib.metadata import version

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int([x for x in Path("/proc/meminfo").read_text().splitlines()
                      if x.startswith("MemTotal")][0].split()[1])
    except OSError:
        mem_kb = 0
    try:
        dbt_version = version("dbt-core")
    except Exception:  # noqa: BLE001
        dbt_version = "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": round(mem_kb / 2**20, 1),
            "duckdb": version("duckdb"), "dbt_core": dbt_version, "python": platform.python_version(),
            "os": platform.platform(), "loadavg_start": os.getloadavg()}


def fmt_s(s: dict) -> str:
    if not s:
        return "-"
    return f"{s['median']:.2f} s [{s['min']:.2f}-{s['max']:.2f}]"


def fmt_mb(s: dict) -> str:
    return f"{s['median']:.0f} MB" if s else "-"


def fmt_cell(s: dict) -> str:
    """'12.3 s, 456 MB' (median wall, median peak RSS) or '-'."""
    if not s or not s.get("seconds"):
        return "-"
    return f"{s['seconds']['median']:.1f} s, {s['rss_mb']['median']:.0f} MB"


def median_s(size: dict, key: str, name: str | None = None) -> float | None:
    s = size["summary"].get(key, {})
    if name is not None:
        s = s.get(name, {})
    return s["seconds"]["median"] if s and s.get("seconds") else None


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "-"


def tables(report: dict) -> str:
    """The one table: workloads x sizes, with ratios, the marginal ratio and the targets."""
    lines = []
    m = report["machine"]
    lines.append(f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; DuckDB {m['duckdb']}, "
                 f"dbt-core {m['dbt_core']}, Python {m['python']}; load average at start "
                 f"{', '.join(f'{x:.1f}' for x in m['loadavg_start'])}, at end "
                 f"{', '.join(f'{x:.1f}' for x in m.get('loadavg_end', []))} (shared machine: absolute "
                 "timings are noisy; compare the ratios, measured side by side).")
    a = report["args"]
    lines.append(f"Settings: BUTTER_THREADS={a['threads']} (dbt), BUTTER_DUCKDB_THREADS={a['duckdb_threads']}, "
                 f"BUTTER_MEMORY_LIMIT={a['memory_limit']}; {a['reps']} repetition(s) (median), dbt test "
                 f"{a['test_reps']}, BI queries {a['query_reps']} each. Cells: wall time, peak RSS of the "
                 "process tree.")
    lines.append("")
    sizes = report["sizes"]
    names = list(sizes[0]["summary"]["build"].keys())
    head = "| workload | " + " | ".join(
        f"{s['label']}: {s['data']['runs']:,} runs, {s['data']['epochs_in_all_runs'] / 1e6:.1f} M epochs, "
        f"{s['data']['bytes_total'] / 1e9:.2f} GB" for s in sizes) + " |"
    lines.append(head)
    lines.append("|---|" + "---|" * len(sizes))

    def row(label: str, cells: list[str]) -> None:
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    row("floor16: every input the marts need, read once (one DuckDB process)",
        [fmt_cell(s["summary"]["floor"]) for s in sizes])
    if all(s["summary"].get("floorall") for s in sizes):
        row("floorall: every per-epoch array of every folder decoded once (one DuckDB process)",
            [fmt_cell(s["summary"]["floorall"]) for s in sizes])
    if any(s["summary"]["numpy"] for s in sizes):
        row("pyarrow + numpy", [fmt_cell(s["summary"]["numpy"]) for s in sizes])
    for name in names:
        tag = f" [{name}]" if len(names) > 1 else ""
        row(f"seeds + models{tag}", [fmt_cell(s["summary"]["build"][name]) for s in sizes])
        row(f"README build (`butter build`), fresh{tag}", [fmt_cell(s["summary"]["readme"].get(name, {})) for s in sizes])
        row(f"README build again, no data change{tag}",
            [fmt_cell(s["summary"]["readme_again"].get(name, {})) for s in sizes])
        row(f"README build after adding a sweep's folders ({', '.join(ADDED_SWEEP)}){tag}",
            [fmt_cell(s["summary"]["readme_added"].get(name, {})) for s in sizes])
        row(f"`dbt test` alone{tag}", [fmt_cell(s["summary"]["test"].get(name, {})) for s in sizes])
        row(f"seeds + models / floor16{tag}",
            [ratio(median_s(s, "build", name), median_s(s, "floor")) for s in sizes])
        if all(s["summary"].get("floorall") for s in sizes):
            row(f"seeds + models / floorall{tag}",
                [ratio(median_s(s, "build", name), median_s(s, "floorall")) for s in sizes])
        row(f"README build / seeds + models{tag} (target <= 3x)",
            [ratio(median_s(s, "readme", name), median_s(s, "build", name)) for s in sizes])
        row(f"`dbt test` / seeds + models{tag}",
            [ratio(median_s(s, "test", name), median_s(s, "build", name)) for s in sizes])
    for name in names:
        if all(name in s["queries"] for s in sizes):
            row(f"BI queries on the marts, worst p95{' [' + name + ']' if len(names) > 1 else ''}",
                [f"{s['queries'][name]['worst_p95_ms']:.1f} ms" for s in sizes])
    lines.append("")
    first, last = sizes[0], sizes[-1]
    floor_delta = (median_s(last, "floor") or 0) - (median_s(first, "floor") or 0)
    for name in names:
        tag = f" [{name}]" if len(names) > 1 else ""
        if len(sizes) > 1:
            build_delta = median_s(last, "build", name) - median_s(first, "build", name)
            marginal = build_delta / floor_delta if floor_delta > 0 else float("nan")
            lines.append(f"- Marginal ratio{tag} ({last['label']} minus {first['label']}): seeds + models "
                         f"+{build_delta:.1f} s, floor16 +{floor_delta:.1f} s: **{marginal:.2f}x** "
                         f"(target <= 1.5x: {'met' if marginal <= 1.5 else 'not met'}).")
            if all(s["summary"].get("floorall") for s in sizes):
                all_delta = (median_s(last, "floorall") or 0) - (median_s(first, "floorall") or 0)
                over_all = build_delta / all_delta if all_delta > 0 else float("nan")
                lines.append(f"- Against floorall{tag}: floorall +{all_delta:.1f} s: **{over_all:.2f}x** "
                             f"(target <= 1.2x: {'met' if over_all <= 1.2 else 'not met'}).")
        fresh = [median_s(s, "readme", name) for s in sizes]
        again = [median_s(s, "readme_again", name) for s in sizes]
        if len(sizes) > 1 and None not in fresh + again:
            fresh_delta, again_delta = fresh[-1] - fresh[0], again[-1] - again[0]
            share = again_delta / fresh_delta if fresh_delta > 0 else float("nan")
            lines.append(f"- Rebuild with no data change{tag} ({last['label']} minus {first['label']}): README build "
                         f"again +{again_delta:.1f} s, fresh +{fresh_delta:.1f} s: **{share:.2f}** of the fresh "
                         f"build's marginal cost (target <= 0.25: {'met' if share <= 0.25 else 'not met'}); "
                         f"again / fresh: {', '.join(ratio(a, f) for a, f in zip(again, fresh, strict=True))}.")
        rss = [s["summary"][key][name]["rss_mb"]["median"] for s in sizes
               for key in ("readme", "readme_again", "readme_added") if s["summary"][key].get(name)]
        if rss:
            flat = max(rss) - min(rss)
            lines.append(f"- README builds' peak RSS{tag} (fresh, again, after adding a sweep, per size): "
                         f"{', '.join(f'{r:.0f}' for r in rss)} MB "
                         f"(target <= 2048 MB at every size: {'met' if max(rss) <= 2048 else 'not met'}; "
                         f"spread {flat:.0f} MB across sizes).")
        ratios = [median_s(s, "readme", name) / median_s(s, "build", name) for s in sizes
                  if median_s(s, "readme", name) and median_s(s, "build", name)]
        if ratios:
            lines.append(f"- README build / seeds + models{tag}: {', '.join(f'{r:.2f}x' for r in ratios)} "
                         f"(target <= 3x: {'met' if max(ratios) <= 3 else 'not met'}).")
        builds = [m for s in sizes for m in s["readme"].get(name, []) if "fresh_parses" in m]
        if builds:
            commands = sum(m["dbt_commands"] for m in builds)
            fresh = sum(m["fresh_parses"] for m in builds)
            reused = sum(m["reused_parses"] for m in builds)
            lines.append(f"- Parsing{tag}: {fresh} fresh parses and {reused} reused parses in the {commands} dbt "
                         f"commands of {len(builds)} README builds (dbt_project.yml `partial_parse: false`: "
                         f"every command parses afresh, {'as expected' if fresh == commands and not reused else 'NOT as expected'}).")
    lines.append("")
    lines.append("Slowest nodes (median seconds, run_results.json):")
    lines.append("")
    for size in sizes:
        for name, per_model in size["summary"]["build_models"].items():
            top = sorted(per_model.items(), key=lambda kv: -kv[1])[:5]
            lines.append(f"- {size['label']} seeds + models [{name}]: " + ", ".join(f"{k} {v:.1f}" for k, v in top))
        for name, per_test in size["summary"]["test_nodes"].items():
            top = sorted(per_test.items(), key=lambda kv: -kv[1])[:5]
            lines.append(f"- {size['label']} dbt test [{name}]: " + ", ".join(f"{k} {v:.1f}" for k, v in top))
    checks = [c for s in sizes for c in [s["checks"]["floor"], s["checks"]["numpy"]] if c]
    same = all(len({json.dumps(c, sort_keys=True, default=str)
                    for c in [s["checks"]["floor"], s["checks"]["numpy"]] if c}) == 1 for s in sizes)
    lines.append("")
    if any(s["checks"]["numpy"] for s in sizes):
        lines.append(f"Floor and numpy figures identical (count, sums of epochs/finite counts/best losses): "
                     f"{'yes' if same and checks else 'NO'}; the mart also holds runs found only in sweep folders.")
    return "\n".join(lines)


def summarize(size: dict) -> dict:
    def stats(ms: list[dict]) -> dict:
        if not ms:
            return {}
        return {"seconds": summary([m["seconds"] for m in ms]), "rss_mb": summary([m["rss_mb"] for m in ms])}

    s: dict = {"floor": stats(size["floor"]), "floorall": stats(size.get("floorall", [])), "numpy": stats(size["numpy"])}
    s["build"] = {name: stats(ms) for name, ms in size["build"].items()}
    for key in ("readme", "readme_again", "readme_added"):
        s[key] = {name: stats(ms) for name, ms in size.get(key, {}).items()}
    s["test"] = {name: stats(ms) for name, ms in size["test"].items()}
    s["build_models"], s["test_nodes"] = {}, {}
    for key, source in (("build_models", "build"), ("test_nodes", "test")):
        for name, ms in size[source].items():
            nodes: dict[str, list[float]] = {}
            for m in ms:
                for k, v in m.get("models" if source == "build" else "tests", {}).items():
                    nodes.setdefault(k, []).append(v)
            s[key][name] = {k: statistics.median(v) for k, v in nodes.items()}
    return s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2_500, help="runs at size 1x (default 2500)")
    parser.add_argument("--epochs", type=int, default=3000, help="base epochs per run (default 3000)")
    parser.add_argument("--series", default="1,2,4", help="size multipliers (default 1,2,4)")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run: 100 runs x 30 epochs, 1x and 2x")
    parser.add_argument("--reps", type=int, default=2, help="repetitions of floor/builds (default 2)")
    parser.add_argument("--test-reps", type=int, default=1, help="repetitions of dbt test alone (default 1)")
    parser.add_argument("--test-max-runs", type=int, default=100_000,
                        help="run dbt test alone only at sizes up to this many runs")
    parser.add_argument("--readme-max-runs", type=int, default=100_000,
                        help="run the README build only at sizes up to this many runs")
    parser.add_argument("--query-reps", type=int, default=100, help="repetitions of each BI query (0: skip)")
    parser.add_argument("--numpy", action="store_true", help="also time the pyarrow + numpy version of the floor")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("BUTTER_THREADS", 2)),
                        help="dbt threads (BUTTER_THREADS)")
    parser.add_argument("--duckdb-threads", type=int, default=int(os.environ.get("BUTTER_DUCKDB_THREADS", 2)),
                        help="DuckDB threads, also for the floor (BUTTER_DUCKDB_THREADS)")
    parser.add_argument("--memory-limit", default=os.environ.get("BUTTER_MEMORY_LIMIT", "1GB"),
                        help="DuckDB memory_limit, also for the floor (BUTTER_MEMORY_LIMIT)")
    parser.add_argument("--data-dir", default="/tmp/butter-bench", help="demo data and scratch warehouses")
    parser.add_argument("--keep-data", action="store_true", help="keep (and reuse) generated data")
    parser.add_argument("--project", default=str(PROJECT), help="dbt project measured (default: this repo)")
    parser.add_argument("--compare-project", action="append", default=[],
                        help="another copy of the project (e.g. with a patch) built side by side")
    parser.add_argument("--no-latest", action="store_true", help="do not overwrite benchmarks/latest.md")
    parser.add_argument("--s3-experiments", type=int, default=1600,
                        help="experiments of the S3 rows' data (1600: >= 2,000 parquet files, all 16 folders)")
    parser.add_argument("--s3-delays", default="20,100", help="per-request delays of the S3 rows, ms (default 20,100)")
    parser.add_argument("--no-s3", action="store_true", help="skip the S3 rows (benchmarks/s3.py)")
    parser.add_argument("--s3-only", action="store_true",
                        help="only the S3 rows; their section of benchmarks/latest.md is replaced, the rest kept")
    args = parser.parse_args()
    if args.s3_only:
        s3_section(args)
        return
    if args.quick:
        args.runs, args.epochs, args.series = 100, 30, "1,2"
        args.reps, args.query_reps = 1, min(args.query_reps, 20)
    projects = [Path(args.project).resolve()] + [Path(p).resolve() for p in args.compare_project]
    report = {"started": dt.datetime.now().isoformat(timespec="seconds"), "machine": machine(),
              "args": vars(args), "sizes": []}
    for mult in [int(x) for x in args.series.split(",")]:
        runs = args.runs * mult
        print(f"== size {mult}x: ~{runs} runs", flush=True)
        size = bench_size(f"{mult}x", runs, args, projects)
        size["summary"] = summarize(size)
        report["sizes"].append(size)
    report["machine"]["loadavg_end"] = os.getloadavg()
    report["finished"] = dt.datetime.now().isoformat(timespec="seconds")
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    (results / f"{stamp}.json").write_text(json.dumps(report, indent=1, default=str))
    print(f"\nwrote {results / f'{stamp}.json'}")
    text = tables(report)
    print()
    print(text)
    if not args.no_latest:
        cmd = " ".join(["python benchmarks/run.py", *sys.argv[1:]])
        latest = HERE / "latest.md"
        # the S3 section of an earlier run stays until S3 rows are measured again (--no-s3)
        kept = latest.read_text().partition(S3_HEADING) if latest.exists() else ("", "", "")
        latest.write_text(f"# Latest benchmark\n\n`{cmd}` ({report['started']}, "
                          f"finished {report['finished']})\n\n{text}\n"
                          + (f"\n{S3_HEADING}{kept[2]}" if kept[1] and args.no_s3 else ""))
        print(f"wrote {latest}")
        # the full-scale estimate from this run's tables and timings (docs/performance.md)
        samples = [{"experiments": s["table_sizes"]["marts.experiment_summary"]["rows"],
                    "runs": s["table_sizes"]["marts.run_best_epochs"]["rows"], "tables": s["table_sizes"]}
                   for s in report["sizes"] if "table_sizes" in s]
        if len(samples) >= 2:
            estimate = full_scale.section(samples, full_scale.curve_points(Path(args.project)), latest)
            print(estimate)
            body, s3, rest = latest.read_text().partition(S3_HEADING)
            latest.write_text(f"{body.rstrip()}\n\n{estimate}" + (f"\n{s3}{rest}" if s3 else ""))
    if not args.no_s3:
        s3_section(args)


S3_HEADING = "## S3 path"


def s3_section(args: argparse.Namespace) -> None:
    """The S3 rows (benchmarks/s3.py): run, print, and put their section into latest.md."""
    import importlib.util

    if importlib.util.find_spec("moto") is None:
        print("S3 rows skipped: the S3 emulator needs the dev environment (make install: moto)")
        return
    sys.path.insert(0, str(HERE))
    import s3 as s3_bench

    started, load_start = dt.datetime.now().isoformat(timespec="seconds"), os.getloadavg()
    print(f"== S3 path: {args.s3_experiments} experiments, delays {args.s3_delays} ms", flush=True)
    report = s3_bench.run_s3(Path(args.data_dir), args.s3_experiments,
                             [float(x) for x in args.s3_delays.split(",")], keep_data=args.keep_data)
    report["machine"] = machine()
    report["machine"]["loadavg_start"], report["machine"]["loadavg_end"] = load_start, os.getloadavg()
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / f"s3-{dt.datetime.now().strftime('%Y%m%dT%H%M%S')}.json").write_text(json.dumps(report, indent=1))
    text = s3_bench.table(report)
    print(text)
    if args.no_latest:
        return
    m = report["machine"]
    cmd = " ".join(["python benchmarks/run.py", *sys.argv[1:]])
    section = (f"{S3_HEADING}\n\n`{cmd}` ({started}, finished {dt.datetime.now().isoformat(timespec='seconds')}; "
               f"{m['cpu']}, {m['cores']} cores, load average {', '.join(f'{x:.1f}' for x in m['loadavg_start'])} "
               f"at start, {', '.join(f'{x:.1f}' for x in m['loadavg_end'])} at end)\n\n{text}\n")
    latest = HERE / "latest.md"
    old = latest.read_text() if latest.exists() else "# Latest benchmark\n"
    old = old.split(S3_HEADING)[0].rstrip() + "\n\n"
    latest.write_text(old + section)
    print(f"wrote {latest}")


if __name__ == "__main__":
    main()
