#!/usr/bin/env python
"""Benchmark the BUTTER warehouse against a hand-written floor (see benchmarks/README.md).

    python benchmarks/run.py                      # ~10,000 runs x 3000 epochs (several GB)
    python benchmarks/run.py --quick              # tiny smoke run (seconds)
    python benchmarks/run.py --runs 2500 --series 1,2,4   # 2.5k, 5k, 10k runs
    python benchmarks/run.py --compare-project /tmp/patched-copy   # baseline vs a patched copy

Per data size, interleaved in every repetition (so machine noise hits all alike):
(a) floor: one DuckDB query over all_runs computing the per-run best-epoch figures;
(b) the same figures with pyarrow record batches + vectorised numpy;
(c) the warehouse build: dbt build of seeds + models, no tests (fresh DuckDB file);
then (d) dbt test on the built warehouse and (e) BI queries on the marts
(p50/p95, read_only connection). Each workload runs in its own subprocess; wall
time and the peak RSS of that process (os.wait4) are recorded.
Results: a table on stdout, benchmarks/results/<timestamp>.json, benchmarks/latest.md.
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

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
WORKERS = HERE / "_workers.py"
RUNS_PER_EXPERIMENT = 20  # the published ratio: 3.55M runs / 178k experiments


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
    env = dict(os.environ)
    env.update({
        "DBT_PROFILES_DIR": str(project), "BUTTER_DATA_ROOT": str(data_root), "BUTTER_DUCKDB_PATH": str(db),
        "DBT_TARGET_PATH": str(work / "target"), "DBT_LOG_PATH": str(work / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false",
        "BUTTER_THREADS": str(args.threads), "BUTTER_MEMORY_LIMIT": args.memory_limit,
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
    for suffix in ("", ".wal"):
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


def mart_check(db: Path, log: Path) -> dict:
    return last_json(measure([sys.executable, str(WORKERS), "martcheck", "--db", str(db)], log=log)["stdout"])


# --------------------------------------------------------------------------- one size
def bench_size(label: str, runs: int, args: argparse.Namespace, projects: list[Path]) -> dict:
    root = Path(args.data_dir) / f"runs{runs}-epochs{args.epochs}"
    data = generate(root, runs, args.epochs, keep=args.keep_data)
    print(f"  data: {data['runs']} runs ({data['sweep_folder_run_rows']} sweep-folder copies), "
          f"{data['bytes_total'] / 1e9:.2f} GB ({data['bytes_all_runs'] / 1e9:.2f} GB all_runs)", flush=True)
    work_root = Path(args.data_dir) / f"work-{label}"
    shutil.rmtree(work_root, ignore_errors=True)
    work_root.mkdir(parents=True)
    py = sys.executable
    res: dict = {"label": label, "data": data, "floor": [], "numpy": [],
                 "build": {p.name: [] for p in projects}}
    names = {p: (p.name if i == 0 else f"{p.name}") for i, p in enumerate(projects)}
    if len(set(names.values())) < len(projects):
        names = {p: f"p{i}-{p.name}" for i, p in enumerate(projects)}
        res["build"] = {names[p]: [] for p in projects}
    res["project_names"] = {names[p]: str(p) for p in projects}
    for rep in range(args.reps):
        print(f"  rep {rep + 1}/{args.reps}", flush=True)
        m = measure([py, str(WORKERS), "floor", "--root", str(root), "--db", str(work_root / "floor.duckdb"),
                     "--threads", str(args.threads), "--memory-limit", args.memory_limit],
                    log=work_root / f"floor-{rep}.log")
        m.update(last_json(m.pop("stdout")))
        res["floor"].append(m)
        print(f"    floor  {m['seconds']:7.2f}s  {m['rss_mb']:6.0f} MB", flush=True)
        if not args.skip_numpy:
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
            print(f"    build[{names[project]}] {m['seconds']:7.2f}s  {m['rss_mb']:6.0f} MB", flush=True)
    res["checks"] = {"floor": res["floor"][-1]["check"],
                     "numpy": res["numpy"][-1]["check"] if res["numpy"] else None}
    res["test"], res["queries"] = {}, {}
    for project in projects:
        work = work_root / names[project]
        db = work / "butter.duckdb"
        res["checks"][f"mart[{names[project]}]"] = mart_check(db, work / "martcheck.log")
        if runs <= args.test_max_runs:
            tests = []
            for rep in range(args.test_reps):
                m = dbt_test(project, root, work, args, str(rep))
                m.pop("stdout")
                tests.append(m)
                print(f"    test[{names[project]}] {m['seconds']:7.2f}s  {m['rss_mb']:6.0f} MB rc={m['rc']}",
                      flush=True)
            res["test"][names[project]] = tests
        m = measure([py, str(WORKERS), "queries", "--db", str(db), "--reps", str(args.query_reps),
                     "--threads", str(args.threads)], log=work / "queries.log")
        m.update(last_json(m.pop("stdout")))
        res["queries"][names[project]] = m
        print(f"    queries[{names[project]}] worst p95 {m['worst_p95_ms']:.1f} ms  {m['rss_mb']:.0f} MB", flush=True)
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


def tables(report: dict) -> str:
    lines = []
    m = report["machine"]
    lines.append(f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; DuckDB {m['duckdb']}, "
                 f"dbt-core {m['dbt_core']}, Python {m['python']}; load average at start "
                 f"{', '.join(f'{x:.1f}' for x in m['loadavg_start'])} (shared machine: timings are noisy).")
    a = report["args"]
    lines.append(f"Settings: BUTTER_THREADS={a['threads']}, BUTTER_MEMORY_LIMIT={a['memory_limit']}, "
                 f"{a['reps']} repetitions (median [min-max]), BI queries {a['query_reps']} repetitions each.")
    lines.append("")
    lines.append("| size | runs | epochs (all_runs) | data GB (all_runs) | workload | wall time | peak RSS | vs floor | vs numpy |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for size in report["sizes"]:
        d = size["data"]
        head = (f"| {size['label']} | {d['runs']:,} | {d['epochs_in_all_runs'] / 1e6:.1f} M | "
                f"{d['bytes_total'] / 1e9:.2f} ({d['bytes_all_runs'] / 1e9:.2f}) |")
        floor = size["summary"]["floor"]["seconds"]
        npy = size["summary"]["numpy"].get("seconds")
        rows = [("(a) floor: DuckDB query", size["summary"]["floor"]),
                ("(b) pyarrow + numpy", size["summary"]["numpy"])]
        for name, s in size["summary"]["build"].items():
            rows.append((f"(c) dbt build [{name}]", s))
        for name, s in size["summary"].get("test", {}).items():
            rows.append((f"(d) dbt test [{name}]", s))
        for label, s in rows:
            if not s or not s.get("seconds"):
                continue
            r_floor = s["seconds"]["median"] / floor["median"]
            r_np = s["seconds"]["median"] / npy["median"] if npy else None
            lines.append(f"{head} {label} | {fmt_s(s['seconds'])} | {fmt_mb(s['rss_mb'])} | "
                         f"{r_floor:.2f}x | {f'{r_np:.2f}x' if r_np else '-'} |")
            head = "| | | | |"
        for name, q in size["queries"].items():
            lines.append(f"{head} (e) BI queries [{name}] | worst p95 {q['worst_p95_ms']:.1f} ms, "
                         f"median p50 {statistics.median(v['p50_ms'] for v in q['queries'].values()):.1f} ms "
                         f"| {q['rss_mb']:.0f} MB | | |")
            head = "| | | | |"
    lines.append("")
    lines.append("Slowest models in the build (median seconds over repetitions, from run_results.json):")
    lines.append("")
    for size in report["sizes"]:
        for name, per_model in size["summary"]["build_models"].items():
            top = sorted(per_model.items(), key=lambda kv: -kv[1])[:5]
            lines.append(f"- {size['label']} [{name}]: " + ", ".join(f"{k} {v:.1f}" for k, v in top))
    checks_ok = all(len({json.dumps({k: v for k, v in c.items()}, sort_keys=True, default=str)
                         for c in [s["checks"]["floor"], s["checks"]["numpy"]] if c}) == 1
                    for s in report["sizes"])
    lines.append("")
    lines.append(f"Floor and numpy figures identical (count, sums of epochs/finite counts/best losses): "
                 f"{'yes' if checks_ok else 'NO'}; the mart also holds runs found only in sweep folders.")
    return "\n".join(lines)


def summarize(size: dict) -> dict:
    s: dict = {}
    for key in ("floor", "numpy"):
        s[key] = {"seconds": summary([m["seconds"] for m in size[key]]),
                  "rss_mb": summary([m["rss_mb"] for m in size[key]])} if size[key] else {}
    s["build"], s["build_models"], s["test"] = {}, {}, {}
    for name, ms in size["build"].items():
        s["build"][name] = {"seconds": summary([m["seconds"] for m in ms]), "rss_mb": summary([m["rss_mb"] for m in ms])}
        models = {}
        for m in ms:
            for k, v in m["models"].items():
                models.setdefault(k, []).append(v)
        s["build_models"][name] = {k: statistics.median(v) for k, v in models.items()}
    for name, ms in size["test"].items():
        s["test"][name] = {"seconds": summary([m["seconds"] for m in ms]), "rss_mb": summary([m["rss_mb"] for m in ms])}
    return s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000, help="runs at size 1x (default 10000)")
    parser.add_argument("--epochs", type=int, default=3000, help="base epochs per run (default 3000)")
    parser.add_argument("--series", default="1", help="size multipliers, e.g. 1,2,4 (default 1)")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run: 200 runs x 30 epochs, 2 reps")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of floor/numpy/build (default 3)")
    parser.add_argument("--test-reps", type=int, default=1, help="repetitions of dbt test (default 1: slow)")
    parser.add_argument("--test-max-runs", type=int, default=10_000,
                        help="run dbt test only at sizes up to this many runs (default 10000)")
    parser.add_argument("--query-reps", type=int, default=200, help="repetitions of each BI query (default 200)")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("BUTTER_THREADS", 2)))
    parser.add_argument("--memory-limit", default=os.environ.get("BUTTER_MEMORY_LIMIT", "1GB"))
    parser.add_argument("--data-dir", default="/tmp/butter-bench", help="demo data and scratch warehouses")
    parser.add_argument("--keep-data", action="store_true", help="keep (and reuse) generated data")
    parser.add_argument("--skip-numpy", action="store_true")
    parser.add_argument("--project", default=str(PROJECT), help="dbt project measured (default: this repo)")
    parser.add_argument("--compare-project", action="append", default=[],
                        help="another copy of the project (e.g. with a patch) built side by side")
    parser.add_argument("--no-latest", action="store_true", help="do not overwrite benchmarks/latest.md")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.epochs, args.series = 200, 30, "1"
        args.reps, args.query_reps = min(args.reps, 2), min(args.query_reps, 30)
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
    text = tables(report)
    print()
    print(text)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    (results / f"{stamp}.json").write_text(json.dumps(report, indent=1, default=str))
    print(f"\nwrote {results / f'{stamp}.json'}")
    if not args.no_latest:
        cmd = " ".join(["python benchmarks/run.py", *sys.argv[1:]])
        (HERE / "latest.md").write_text(f"# Latest benchmark\n\n`{cmd}` ({report['started']})\n\n{text}\n")
        print(f"wrote {HERE / 'latest.md'}")


if __name__ == "__main__":
    main()
