#!/usr/bin/env python
"""The S3 rows of ``make benchmark``: scan, download and build from an S3
endpoint with a fixed delay per request, beside their floors, in one run.

    python benchmarks/s3.py --experiments 1600 --delays 20,100      # or: benchmarks/run.py --s3-only

The moto emulator (tests/python/s3_emulator.py, dev environment) serves generated demo
data (all 16 folders, >= 2,000 parquet files at the default size) from a separate
process, behind one threaded delay proxy per delay (``delay_proxy``: N ms before each
request is forwarded; it counts requests per object). Per delay:

  butter scan          the inventory over S3 (BUTTER_S3_CONCURRENCY, default 32)
  footer floor         a plain 32-thread reader of the same footers (HEAD + GET tail each), plus
                       the local scan of the same data (the scan's own work)
  butter download      every folder to a fresh local folder; then again (must transfer 0 bytes)
  copy floor           a plain 32-thread copy of the same files through pyarrow (a HEAD + a GET each,
                       where butter download sends one GET: this floor has twice its requests)
  butter build         --skip-docs from the s3:// root (lands into a fresh cache, builds the copy);
                       requests per remote parquet file over the whole build, and all its
                       requests (listings included) per parquet file
  local build          the same build from the local data (floor of the build; delay-independent)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT / "tests" / "python"))
sys.path.insert(0, str(PROJECT))


# --------------------------------------------------------------------------- the server process
def serve(root: Path, delays: list[float]) -> None:
    """Run moto with ``root`` uploaded and one proxy per delay; print their env as JSON; wait for EOF."""
    from contextlib import ExitStack

    from s3_emulator import STATS_PATH, delay_proxy, s3_emulator

    with ExitStack() as stack:
        s3 = stack.enter_context(s3_emulator(root, bucket="butter-bench", prefix="butter", http_retries=3))
        out = {}
        for delay in delays:
            proxy, _ = stack.enter_context(delay_proxy(s3, delay))
            out[str(delay)] = {"env": proxy.env, "stats": f"http://{proxy.endpoint}{STATS_PATH}"}
        print(json.dumps(out), flush=True)
        sys.stdin.read()


# --------------------------------------------------------------------------- floors (worker processes)
def _fs(env: dict) -> object:
    from butter_warehouse.storage import s3_filesystem

    return s3_filesystem(env)


def _listing(filesystem: object, root: str) -> list:
    from pyarrow import fs

    infos = filesystem.get_file_info(fs.FileSelector(root[len("s3://"):], recursive=True))  # type: ignore[attr-defined]
    return [i for i in infos if i.type == fs.FileType.File and "/" in i.path[len(root) - 4:]]


def footers(root: str, concurrency: int) -> None:
    import pyarrow.parquet as pq

    filesystem = _fs(dict(os.environ))
    files = [i.path for i in _listing(filesystem, root) if i.path.endswith(".parquet")]

    def read(path: str) -> int:
        with filesystem.open_input_file(path) as handle:  # type: ignore[attr-defined]
            return pq.read_metadata(handle).num_rows

    with ThreadPoolExecutor(concurrency) as pool:
        rows = sum(pool.map(read, files))
    print(json.dumps({"files": len(files), "rows": rows}))


def copy(root: str, out: str, concurrency: int) -> None:
    filesystem = _fs(dict(os.environ))
    files = _listing(filesystem, root)
    base = root[len("s3://"):]

    def fetch(info: object) -> int:
        dest = Path(out) / info.path[len(base) + 1:]  # type: ignore[attr-defined]
        dest.parent.mkdir(parents=True, exist_ok=True)
        with filesystem.open_input_stream(info.path) as src, open(dest, "wb") as dst:  # type: ignore[attr-defined]
            data = src.read()
            dst.write(data)
        return len(data)

    with ThreadPoolExecutor(concurrency) as pool:
        nbytes = sum(pool.map(fetch, files))
    print(json.dumps({"files": len(files), "bytes": nbytes}))


# --------------------------------------------------------------------------- measuring
def timed(cmd: list[str], env: dict, log: Path, cwd: Path = PROJECT) -> dict:
    start = time.perf_counter()
    with open(log, "w") as out:
        rc = subprocess.run(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, text=True).returncode
    seconds = time.perf_counter() - start
    text = log.read_text()
    if rc != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (rc {rc}):\n{text[-3000:]}")
    return {"seconds": seconds, "output": text}


def stats(url: str, reset: bool = False) -> dict:
    with urllib.request.urlopen(url + ("?reset" if reset else ""), timeout=30) as response:
        return json.loads(response.read())


def butter_env(work: Path, data_root: str, extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.update(extra or {})
    env.update({
        "BUTTER_DATA_ROOT": data_root, "BUTTER_PROJECT_DIR": str(PROJECT), "DBT_PROFILES_DIR": str(PROJECT),
        "BUTTER_DUCKDB_PATH": str(work / "wh" / "butter.duckdb"), "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"), "BUTTER_S3_CACHE": str(work / "cache"), "BUTTER_PROGRESS": "never",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false",
    })
    return env


def butter(*args: str) -> list[str]:
    return [sys.executable, "-m", "butter_warehouse.cli", *args]


def per_file(counts: dict, bucket_prefix: str, files: list[str]) -> dict:
    values = [counts.get(f"/{bucket_prefix}/{rel}", 0) for rel in files]
    return {"mean": sum(values) / len(values), "max": max(values), "total": sum(counts.values())}


def run_s3(data_dir: Path, experiments: int, delays: list[float], concurrency: int = 32,
           keep_data: bool = False) -> dict:
    from butter_warehouse import demo

    data_dir.mkdir(parents=True, exist_ok=True)
    root = data_dir / f"s3-data-{experiments}"
    if not (keep_data and (root / "_demo_manifest.json").exists()):
        shutil.rmtree(root, ignore_errors=True)
        print(f"  generating {experiments} experiments x 2 runs x 10 epochs in {root} ...", flush=True)
        demo.generate(root, spelling="published", experiments=experiments, runs_per_experiment=2, epochs=10,
                      seed=0, progress=False)
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.parquet"))
    all_files = [p for p in root.rglob("*") if p.is_file() and p.parent != root]
    nbytes = sum(p.stat().st_size for p in all_files)
    report: dict = {"experiments": experiments, "parquet_files": len(files), "files": len(all_files),
                    "bytes": nbytes, "concurrency": concurrency, "delays": {}}
    print(f"  data: {len(files)} parquet files ({len(all_files)} files, {nbytes / 1e6:.1f} MB)", flush=True)
    work = data_dir / "s3-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    py = sys.executable
    local = work / "local"
    local.mkdir()
    report["local_scan"] = timed(butter("scan", "--out", str(local / "inv")), butter_env(local, str(root)),
                                 work / "local-scan.log")["seconds"]
    report["local_build"] = timed(butter("build", "--skip-docs"), butter_env(local, str(root)),
                                  work / "local-build.log")["seconds"]
    print(f"  local: scan {report['local_scan']:.1f} s, build {report['local_build']:.1f} s", flush=True)
    server = subprocess.Popen([py, str(Path(__file__)), "serve", "--root", str(root), "--delays",
                               ",".join(str(d) for d in delays)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        started = time.perf_counter()
        endpoints = json.loads(server.stdout.readline())  # type: ignore[union-attr]
        report["upload_seconds"] = time.perf_counter() - started
        for delay in delays:
            info = endpoints[str(delay)]
            s3env, url = info["env"], info["stats"]
            s3root = s3env["BUTTER_DATA_ROOT"]
            bucket_prefix = s3root[len("s3://"):]
            d: dict = {}
            w = work / f"d{delay:g}"
            w.mkdir()
            env = butter_env(w, s3root, s3env)
            env["BUTTER_S3_CONCURRENCY"] = str(concurrency)

            stats(url, reset=True)
            d["scan"] = timed(butter("scan", "--out", str(w / "inv")), env, w / "scan.log")["seconds"]
            d["scan_requests"] = per_file(stats(url, reset=True)["by_key"], bucket_prefix, files)
            d["footer_reader"] = timed([py, str(Path(__file__)), "footers", "--root", s3root, "--concurrency",
                                        str(concurrency)], env, w / "footers.log")["seconds"]
            stats(url, reset=True)
            d["download"] = timed(butter("download", "--out", str(w / "dl"), "--concurrency", str(concurrency)),
                                  env, w / "download.log")["seconds"]
            d["download_requests"] = per_file(stats(url, reset=True)["by_key"], bucket_prefix, files)
            again = timed(butter("download", "--out", str(w / "dl")), env, w / "download-again.log")
            d["download_again"] = again["seconds"]
            d["download_again_summary"] = [line for line in again["output"].splitlines()
                                           if line.startswith("downloaded")][-1]
            d["copy_floor"] = timed([py, str(Path(__file__)), "copy", "--root", s3root, "--out", str(w / "copy"),
                                     "--concurrency", str(concurrency)], env, w / "copy.log")["seconds"]
            stats(url, reset=True)
            d["build"] = timed(butter("build", "--skip-docs"), env, w / "build.log")["seconds"]
            counted = stats(url, reset=True)
            d["build_requests"] = per_file(counted["by_key"], bucket_prefix, files)
            d["build_requests_all"] = sum(counted["by_method"].values()) / len(files)  # listings included
            report["delays"][f"{delay:g}"] = d
            print(f"  {delay:g} ms: scan {d['scan']:.1f} s (reader {d['footer_reader']:.1f} s), download "
                  f"{d['download']:.1f} s (copy {d['copy_floor']:.1f} s), build {d['build']:.1f} s, "
                  f"{d['build_requests']['mean']:.2f} requests per remote parquet file", flush=True)
            shutil.rmtree(w / "dl", ignore_errors=True)
            shutil.rmtree(w / "copy", ignore_errors=True)
            shutil.rmtree(w / "cache", ignore_errors=True)
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait(timeout=120)
    if not keep_data:
        shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    return report


def table(report: dict) -> str:
    delays = list(report["delays"])
    lines = [f"Data: {report['parquet_files']:,} parquet files ({report['files']:,} files, "
             f"{report['bytes'] / 1e6:.1f} MB; {report['experiments']} experiments x 2 runs x 10 epochs, all 16 "
             f"folders), moto S3 in its own process behind a delay proxy; concurrency {report['concurrency']}. "
             f"Local scan {report['local_scan']:.1f} s, local `butter build --skip-docs` "
             f"{report['local_build']:.1f} s.", ""]
    lines.append("| workload | " + " | ".join(f"{d} ms per request" for d in delays) + " |")
    lines.append("|---|" + "---|" * len(delays))

    def row(label: str, fn) -> None:  # noqa: ANN001
        lines.append(f"| {label} | " + " | ".join(fn(report["delays"][d]) for d in delays) + " |")

    ls, lb = report["local_scan"], report["local_build"]
    row("`butter scan` over S3", lambda d: f"{d['scan']:.1f} s")
    row("floor: 32-thread footer reader + local scan", lambda d: f"{d['footer_reader']:.1f} + {ls:.1f} s")
    row("scan / floor (target <= 2x)", lambda d: f"{d['scan'] / (d['footer_reader'] + ls):.2f}x")
    row("scan requests per parquet file", lambda d: f"{d['scan_requests']['mean']:.2f}")
    row("`butter download` (all folders)", lambda d: f"{d['download']:.1f} s")
    row("floor: plain 32-thread copy", lambda d: f"{d['copy_floor']:.1f} s")
    row("download throughput / copy's (target >= 80%)", lambda d: f"{100 * d['copy_floor'] / d['download']:.0f}%")
    row("repeated download", lambda d: f"{d['download_again']:.1f} s: {d['download_again_summary'].split(' in ')[0]}")
    row("`butter build --skip-docs` from s3://", lambda d: f"{d['build']:.1f} s")
    row("floor: the same build from local disk", lambda d: f"{lb:.1f} s")
    row("build / local build (target <= 1.5x)", lambda d: f"{d['build'] / lb:.2f}x")
    row("requests per remote parquet file, whole build",
        lambda d: f"{d['build_requests']['mean']:.2f} (max {d['build_requests']['max']})")
    row("all requests of the build / parquet files (target <= 1.5)",
        lambda d: f"{d['build_requests_all']:.2f}" if "build_requests_all" in d else "not measured")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd")
    s = sub.add_parser("serve")
    s.add_argument("--root", required=True)
    s.add_argument("--delays", required=True)
    f = sub.add_parser("footers")
    f.add_argument("--root", required=True)
    f.add_argument("--concurrency", type=int, default=32)
    c = sub.add_parser("copy")
    c.add_argument("--root", required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--experiments", type=int, default=1600)
    parser.add_argument("--delays", default="20,100")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--data-dir", default="/tmp/butter-bench")
    parser.add_argument("--keep-data", action="store_true")
    args = parser.parse_args()
    if args.cmd == "serve":
        serve(Path(args.root), [float(x) for x in args.delays.split(",")])
    elif args.cmd == "footers":
        footers(args.root, args.concurrency)
    elif args.cmd == "copy":
        copy(args.root, args.out, args.concurrency)
    else:
        report = run_s3(Path(args.data_dir), args.experiments, [float(x) for x in args.delays.split(",")],
                        args.concurrency, args.keep_data)
        print(json.dumps(report, indent=1, default=str))
        print(table(report))


if __name__ == "__main__":
    main()
