"""Measured workloads of benchmarks/run.py, each run in its own subprocess.

    python benchmarks/_workers.py floor    --root DATA --threads 2 --memory-limit 1GB
    python benchmarks/_workers.py floorall --root DATA --threads 2 --memory-limit 1GB
    python benchmarks/_workers.py numpy   --root DATA [--batch-rows 256]
    python benchmarks/_workers.py queries --db WAREHOUSE.duckdb --reps 200

Each prints one JSON object on its last stdout line. The parent measures wall
time and peak RSS of the process (os.wait4), so nothing here times itself except
the per-query latencies of ``queries``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

#: published spelling -> framework spelling of the arrays the per-run figures need
SPELLINGS = {
    "published": {"test_loss": "val_loss", "train_loss": "loss", "test_accuracy": "val_accuracy"},
    "framework": {"test_loss": "test_loss", "train_loss": "train_loss", "test_accuracy": "test_accuracy"},
}


def _array_names(root: Path) -> dict[str, str]:
    import pyarrow.parquet as pq

    names = set(pq.read_schema(root / "all_runs" / "_common_metadata").names)
    return SPELLINGS["published" if "val_loss" in names else "framework"]


# --------------------------------------------------------------------------- floor
FLOOR_SQL = """
create table run_figures as
with runs as (
    select run_id, experiment_id,
           {test_loss} as tl, {train_loss} as trl, {test_accuracy} as ta
    from read_parquet('{root}/all_runs/**/*.parquet', hive_partitioning = true)
),
finite as (
    select run_id, experiment_id, tl, ta,
           list_filter(tl, lambda x: isfinite(x)) as ftl,
           list_filter(ta, lambda x: isfinite(x)) as fta,
           len(tl) as num_epochs,
           tl[len(tl)] as last_tl,
           trl[len(trl)] as last_trl
    from runs
),
best as (
    select *, list_min(ftl) as best_test_loss, list_max(fta) as best_test_accuracy from finite
)
select
    run_id, experiment_id,
    best_test_loss,
    nullif(list_position(tl, best_test_loss), 0)::integer as best_test_loss_epoch,
    best_test_accuracy,
    nullif(list_position(ta, best_test_accuracy), 0)::integer as best_test_accuracy_epoch,
    case when isfinite(last_tl) then last_tl end as final_test_loss,
    case when isfinite(last_trl) then last_trl end as final_train_loss,
    num_epochs::integer as num_epochs,
    len(ftl)::integer as num_finite_test_loss
from best
"""

#: the rest of "every input the marts need, read once": the summary curve arrays (the
#: learning curves and the experiment figures) and the keys of all sixteen folders
#: (the copies, the deduplication and the reconciliation)
FLOOR_INPUTS_SQL = """
create table summary_figures as
select experiment_id,
       list_min(list_filter(test_loss_median, lambda x: isfinite(x))) as best_median_test_loss,
       len(test_loss_median) as num_epochs,
       list_sum(test_loss_num_finite) as test_loss_num_finite,
       list_min(list_filter(test_loss_min, lambda x: isfinite(x))) as test_loss_min,
       list_max(list_filter(test_loss_max, lambda x: isfinite(x))) as test_loss_max,
       list_avg(list_filter(test_loss_avg, lambda x: isfinite(x))) as test_loss_avg,
       list_avg(list_filter(test_loss_stddev, lambda x: isfinite(x))) as test_loss_stddev,
       list_min(list_filter(train_loss_median, lambda x: isfinite(x))) as train_loss_median,
       list_max(list_filter(test_accuracy_median, lambda x: isfinite(x))) as test_accuracy_median,
       list_max(list_filter(train_accuracy_median, lambda x: isfinite(x))) as train_accuracy_median
from read_parquet('{root}/complete_summary/**/*.parquet', hive_partitioning = true);
create table folder_keys as
{keys}
"""


def _data_folders(root: Path) -> list[str]:
    """The published folders the data holds (those of its layout): the ones with parquet files."""
    from butter_warehouse import contract

    return [folder for folder in contract.FOLDERS if any((root / folder).rglob("*.parquet"))]


def _keys_sql(root: Path) -> str:
    parts = []
    for folder in _data_folders(root):
        key = "run_id" if folder.endswith("_runs") else "null::bigint"
        parts.append(f"select '{folder}' as folder, {key} as run_id, experiment_id "
                     f"from read_parquet('{root.as_posix()}/{folder}/**/*.parquet', hive_partitioning = true)")
    return "\nunion all\n".join(parts)


CHECK_SQL = """
select count(*) as runs,
       sum(best_test_loss_epoch)::bigint as sum_best_test_loss_epoch,
       sum(best_test_accuracy_epoch)::bigint as sum_best_test_accuracy_epoch,
       sum(num_finite_test_loss)::bigint as sum_num_finite_test_loss,
       round(sum(best_test_loss), 3) as sum_best_test_loss
from {table}
"""


def _check(con, table: str) -> dict:
    cur = con.execute(CHECK_SQL.format(table=table))
    names = [d[0] for d in cur.description]
    return dict(zip(names, cur.fetchone(), strict=True))


def floor(args: argparse.Namespace) -> dict:
    import duckdb

    root = Path(args.root)
    db = Path(args.db)
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    con.execute(f"set threads = {args.threads}")
    con.execute(f"set memory_limit = '{args.memory_limit}'")
    con.execute("set preserve_insertion_order = false")
    con.execute("set enable_progress_bar = false")
    start = time.perf_counter()
    con.execute(FLOOR_SQL.format(root=root.as_posix(), **_array_names(root)))
    run_seconds = time.perf_counter() - start
    con.execute(FLOOR_INPUTS_SQL.format(root=root.as_posix(), keys=_keys_sql(root)))
    seconds = time.perf_counter() - start
    check = _check(con, "run_figures")
    inputs = con.execute("select (select count(*) from summary_figures), (select count(*) from folder_keys)").fetchone()
    con.close()
    db.unlink(missing_ok=True)
    return {"query_seconds": seconds, "run_figures_seconds": run_seconds, "check": check,
            "summary_rows": inputs[0], "key_rows": inputs[1]}


# --------------------------------------------------------------------------- floorall
def floorall(args: argparse.Namespace) -> dict:
    """Every per-epoch array of every folder at the data root decoded once (what verifying every
    copy needs): per folder one scan reading each list column's largest element."""
    import duckdb

    root = Path(args.root)
    con = duckdb.connect()
    con.execute(f"set threads = {args.threads}")
    con.execute(f"set memory_limit = '{args.memory_limit}'")
    con.execute("set enable_progress_bar = false")
    folders, arrays = 0, 0
    start = time.perf_counter()
    for name in _data_folders(root):
        source = (f"read_parquet('{(root / name).as_posix()}/**/*.parquet', hive_partitioning = true, "
                  "union_by_name = true)")
        lists = [column for column, kind, *_ in con.execute(f"describe select * from {source}").fetchall()
                 if kind in ("FLOAT[]", "DOUBLE[]")]  # every file's columns; large lists read the same
        if not lists:
            continue
        picks = ", ".join(f'max(list_max("{column}"))' for column in lists)
        con.execute(f"select {picks} from {source}").fetchall()
        folders += 1
        arrays += len(lists)
    seconds = time.perf_counter() - start
    con.close()
    return {"query_seconds": seconds, "folders": folders, "array_columns": arrays}


# --------------------------------------------------------------------------- numpy
def _segment_figures(values, offsets, best: str):
    """Per-list best value (min or max over finite values) and its first 1-based position."""
    import numpy as np

    lengths = np.diff(offsets)
    starts = offsets[:-1]
    finite = np.isfinite(values)
    fill = np.inf if best == "min" else -np.inf
    masked = np.where(finite, values, fill)
    # one sentinel so reduceat never indexes past the end (empty trailing lists)
    masked = np.append(masked, fill)
    reduce = np.minimum if best == "min" else np.maximum
    best_values = reduce.reduceat(masked, starts)
    num_finite = np.add.reduceat(np.append(finite, False).astype(np.int64), starts)
    num_finite[lengths == 0] = 0
    has_best = num_finite > 0
    positions = np.arange(values.size + 1, dtype=np.int64)
    hit = masked == np.repeat(np.append(best_values, fill), np.append(lengths, 1))
    first = np.minimum.reduceat(np.where(hit, positions, np.iinfo(np.int64).max), starts)
    epoch = np.where(has_best, first - starts + 1, 0)
    return np.where(has_best, best_values, np.nan), epoch, num_finite, lengths


def numpy_figures(args: argparse.Namespace) -> dict:
    import numpy as np
    import pyarrow as pa
    import pyarrow.dataset as ds

    root = Path(args.root)
    names = _array_names(root)
    dataset = ds.dataset(root / "all_runs", format="parquet", partitioning="hive")
    columns = ["run_id", "experiment_id", names["test_loss"], names["train_loss"], names["test_accuracy"]]
    scanner = dataset.scanner(columns=columns, batch_size=args.batch_rows, use_threads=True,
                              batch_readahead=2, fragment_readahead=1)
    start = time.perf_counter()
    parts = []
    for batch in scanner.to_batches():
        if batch.num_rows == 0:
            continue
        out = {"run_id": batch.column(0), "experiment_id": batch.column(1)}
        arrays = {}
        for key in ("test_loss", "train_loss", "test_accuracy"):
            column = batch.column(columns.index(names[key]))
            offsets = np.asarray(column.offsets, dtype=np.int64)
            values = np.asarray(column.flatten(), dtype=np.float32)
            arrays[key] = (values, offsets - offsets[0])
        tl_values, tl_offsets = arrays["test_loss"]
        best_tl, best_tl_epoch, finite_tl, lengths = _segment_figures(tl_values, tl_offsets, "min")
        ta_values, ta_offsets = arrays["test_accuracy"]
        best_ta, best_ta_epoch, _, _ = _segment_figures(ta_values, ta_offsets, "max")
        last_tl = tl_values[np.maximum(tl_offsets[1:] - 1, 0)] if tl_values.size else np.full(len(lengths), np.nan)
        tr_values, tr_offsets = arrays["train_loss"]
        last_tr = tr_values[np.maximum(tr_offsets[1:] - 1, 0)] if tr_values.size else np.full(len(lengths), np.nan)
        out["best_test_loss"] = pa.array(best_tl, mask=best_tl_epoch == 0)
        out["best_test_loss_epoch"] = pa.array(best_tl_epoch.astype(np.int32), mask=best_tl_epoch == 0)
        out["best_test_accuracy"] = pa.array(best_ta, mask=best_ta_epoch == 0)
        out["best_test_accuracy_epoch"] = pa.array(best_ta_epoch.astype(np.int32), mask=best_ta_epoch == 0)
        out["final_test_loss"] = pa.array(last_tl, mask=~np.isfinite(last_tl) | (lengths == 0))
        out["final_train_loss"] = pa.array(last_tr, mask=~np.isfinite(last_tr) | (np.diff(tr_offsets) == 0))
        out["num_epochs"] = pa.array(lengths.astype(np.int32))
        out["num_finite_test_loss"] = pa.array(finite_tl.astype(np.int32))
        parts.append(pa.table(out))
    result = pa.concat_tables(parts)
    seconds = time.perf_counter() - start
    epoch = result["best_test_loss_epoch"]
    check = {
        "runs": result.num_rows,
        "sum_best_test_loss_epoch": int(np.nansum(epoch.to_numpy(zero_copy_only=False).astype(float))),
        "sum_best_test_accuracy_epoch": int(np.nansum(
            result["best_test_accuracy_epoch"].to_numpy(zero_copy_only=False).astype(float))),
        "sum_num_finite_test_loss": int(result["num_finite_test_loss"].to_numpy().sum()),
        "sum_best_test_loss": round(float(np.nansum(
            result["best_test_loss"].to_numpy(zero_copy_only=False).astype(np.float64))), 3),
    }
    return {"compute_seconds": seconds, "check": check}


# --------------------------------------------------------------------------- queries
#: typical BI queries on the marts: dashboards filter and aggregate the small tables
BI_QUERIES = {
    "lr_rank_by_dataset_shape": """
        select dataset, shape, learning_rate, avg(rank_in_group) as avg_rank, count(*) as n
        from marts.sweep_comparisons where sweep = 'learning_rate'
        group by all order by all""",
    "best_experiments_of_dataset": """
        select experiment_id, shape, depth, size, learning_rate, {best_loss}
        from marts.experiment_summary where dataset = (select min(dataset) from marts.experiment_summary)
        order by {best_loss} nulls last limit 20""",
    "runs_of_one_experiment": """
        select run_id, best_test_loss, best_test_loss_epoch, final_test_loss, is_diverged
        from marts.run_best_epochs
        where experiment_id = (select min(experiment_id) from marts.experiment_summary)""",
    "best_epoch_vs_depth": """
        select s.dataset, s.depth, median(b.best_test_loss_epoch_median) as best_epoch,
               avg(b.best_test_loss_median) as best_loss
        from marts.experiment_best_epochs b join marts.experiment_summary s using (experiment_id)
        group by all order by all""",
    "divergence_rate_by_dataset": """
        select dataset, avg(is_diverged::int) as diverged_share, count(*) as runs
        from marts.run_best_epochs group by dataset order by dataset""",
    "label_noise_delta": """
        select dataset, swept_value, avg(delta_vs_core) as avg_delta
        from marts.sweep_comparisons where sweep = 'label_noise' group by all order by all""",
    "reconciliation_counts": """
        select entity, difference, count(*) from audit.source_reconciliation group by all order by all""",
}


def queries(args: argparse.Namespace) -> dict:
    import duckdb
    import numpy as np

    con = duckdb.connect(args.db, read_only=True)
    con.execute(f"set threads = {args.threads}")
    con.execute("set enable_progress_bar = false")
    # the summary's best-loss column, under its current or its earlier name
    columns = {row[0] for row in con.execute("describe marts.experiment_summary").fetchall()}
    best_loss = next(c for c in ("median_curve_best_test_loss", "best_test_loss_median") if c in columns)
    out = {}
    for name, sql in BI_QUERIES.items():
        sql = sql.replace("{best_loss}", best_loss)
        for _ in range(3):  # warm-up: catalog, buffer pool
            con.execute(sql).fetchall()
        latencies = []
        for _ in range(args.reps):
            start = time.perf_counter()
            con.execute(sql).fetchall()
            latencies.append((time.perf_counter() - start) * 1000)
        lat = np.array(latencies)
        out[name] = {"p50_ms": float(np.percentile(lat, 50)), "p95_ms": float(np.percentile(lat, 95)),
                     "max_ms": float(lat.max()), "reps": args.reps}
    all_lat = [v["p95_ms"] for v in out.values()]
    return {"queries": out, "worst_p95_ms": max(all_lat)}


def datastats(args: argparse.Namespace) -> dict:
    """Rows per folder and epochs in all_runs, from parquet footers (epochs is a partition)."""
    import pyarrow.parquet as pq

    root = Path(args.root)
    rows, epochs = {}, 0
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        rows[folder.name] = 0
        for f in folder.rglob("*.parquet"):
            n = pq.ParquetFile(f).metadata.num_rows
            rows[folder.name] += n
            if folder.name == "all_runs":
                epochs += n * int([p for p in f.parts if p.startswith("epochs=")][0].split("=")[1])
    return {"rows": rows, "epochs_in_all_runs": epochs}


def martcheck(args: argparse.Namespace) -> dict:
    import duckdb

    con = duckdb.connect(args.db, read_only=True)
    return _check(con, "marts.run_best_epochs")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workload", choices=["floor", "floorall", "numpy", "queries", "datastats", "martcheck"])
    parser.add_argument("--root")
    parser.add_argument("--db")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument("--batch-rows", type=int, default=256)
    parser.add_argument("--reps", type=int, default=200)
    args = parser.parse_args()
    result = {"floor": floor, "floorall": floorall, "numpy": numpy_figures, "queries": queries,
              "datastats": datastats, "martcheck": martcheck}[args.workload](args)
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
