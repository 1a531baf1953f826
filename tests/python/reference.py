"""An independent reference implementation of the marts, for tests/python/test_marts.py.

Reads the published BUTTER folders (demo or real layout) directly with pyarrow,
resolves copies of a run / experiment held in several folders, and computes what
the marts must contain with numpy, following the warehouse interface
(docs/warehouse-interface.md), not the dbt SQL. Nothing here imports the
warehouse's own code: column names are mapped with the renaming rules of the
data contract (``val_X`` -> ``test_X``, ``X`` -> ``train_X``, dots ->
underscores, ``<sweep>_sweep`` -> ``is_<sweep>_sweep``).

A NULL element of a per-epoch array means "no value at this epoch", exactly like
NaN or +/-inf (the data contract: NREL stored non-finite values as NULL): arrays
are read with their NULL elements as NaN, so every rule below (best and final
values, num_finite, divergence, curve statistics) treats the three alike. Where
the reference recomputes summary statistics from runs it does what NREL's
PostgreSQL did: statistics over the finite values, sample standard deviation
(none below two finite values).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# --- facts of the data contract -----------------------------------------------------------

SWEEPS: tuple[str, ...] = (
    "primary", "300_epoch", "30k_epoch", "learning_rate", "label_noise", "batch_size", "regularization",
)
COMPLETE_RUNS = "all_runs"
COMPLETE_SUMMARY = "complete_summary"
RUN_FOLDERS: tuple[str, ...] = (COMPLETE_RUNS,) + tuple(f"{s}_sweep_runs" for s in SWEEPS)
SUMMARY_FOLDERS: tuple[str, ...] = (COMPLETE_SUMMARY,) + tuple(f"{s}_sweep_summary" for s in SWEEPS)
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


def _f32(value: Any) -> float:  # a number (or its text) read from parquet or the warehouse
    return float(np.float32(value))


#: partition columns (canonical names) and how their path text is typed
PARTITION_TYPES: dict[str, Callable[[str], object]] = {
    "dataset": str,
    "learning_rate": lambda text: _f32(float(text)),
    "batch_size": int,
    "kernel_regularizer_type": str,
    "label_noise": lambda text: _f32(float(text)),
    "epochs": int,
    "shape": str,
    "depth": int,
}

HYPERPARAMETERS: tuple[str, ...] = (
    "dataset", "shape", "depth", "size", "num_free_parameters", "learning_rate", "batch_size",
    "label_noise", "kernel_regularizer_type", "kernel_regularizer_l1", "kernel_regularizer_l2", "epochs",
)
FLOAT_HYPERPARAMETERS = frozenset({"learning_rate", "label_noise", "kernel_regularizer_l1", "kernel_regularizer_l2"})
SWEEP_FLAGS: tuple[str, ...] = tuple(f"is_{s}_sweep" for s in SWEEPS)

#: sweep comparisons: the hyperparameters a group may share ...
GROUP_CANDIDATES: tuple[str, ...] = (
    "dataset", "shape", "depth", "size", "learning_rate", "batch_size", "label_noise",
    "kernel_regularizer_type", "kernel_regularizer_l1", "kernel_regularizer_l2", "epochs",
)
#: ... minus what each sweep varies
SWEEP_VARIES: dict[str, tuple[str, ...]] = {
    "primary": ("size",),
    "300_epoch": ("epochs",),
    "30k_epoch": ("epochs",),
    "learning_rate": ("learning_rate",),
    "label_noise": ("label_noise",),
    "batch_size": ("batch_size",),
    "regularization": ("kernel_regularizer_type", "kernel_regularizer_l1", "kernel_regularizer_l2"),
}
CORE_LEARNING_RATE = 0.0001
CORE_BATCH_SIZE = 256
CORE_LABEL_NOISE = 0.0


# --- reading ------------------------------------------------------------------------------


def canonical_name(name: str, arrow_type: pa.DataType, kind: str, published_metrics: bool) -> str:
    """The warehouse (test/train) spelling of a stored column name."""
    name = name.replace(".", "_")
    if name.endswith("_sweep"):
        return f"is_{name}"
    if name == "batch":
        return "experimental_batch"
    if name == "num":
        return "num_runs_at_epoch"
    is_metric = kind == "runs" and arrow_type == pa.list_(pa.float32()) and name != "widths"
    if is_metric and published_metrics:
        return f"test_{name[len('val_'):]}" if name.startswith("val_") else f"train_{name}"
    return name


def _python(value: object, arrow_type: pa.DataType) -> object:
    if value is not None and pa.types.is_float32(arrow_type):
        return _f32(value)
    return value


def _numeric_lists(column: pa.ChunkedArray) -> list[np.ndarray | None]:
    """A list column as one numpy array per row; NULL elements become NaN, a NULL list None.

    Float lists keep their float32 values (NaN and +/-inf as stored); integer lists are
    int64, or float64 when some element is NULL.
    """
    out: list[np.ndarray | None] = []
    for chunk in column.chunks:
        elements = pc.list_flatten(chunk)
        if pa.types.is_floating(elements.type):
            flat = elements.to_numpy(zero_copy_only=False).astype(np.float32)
        elif elements.null_count:
            flat = elements.cast(pa.float64()).to_numpy(zero_copy_only=False)
        else:
            flat = elements.to_numpy(zero_copy_only=False).astype(np.int64)
        start = 0
        for length in pc.list_value_length(chunk).to_pylist():
            out.append(None if length is None else flat[start:start + length])
            start += length or 0
    return out


def _column_values(column: pa.ChunkedArray, arrow_type: pa.DataType) -> list:
    if pa.types.is_list(arrow_type) and (
        pa.types.is_floating(arrow_type.value_type) or pa.types.is_integer(arrow_type.value_type)
    ):
        return _numeric_lists(column)
    return [_python(v, arrow_type) for v in column.to_pylist()]


def read_file(path: Path, folder: Path, kind: str) -> list[dict]:
    """Rows of one parquet file, canonical names, with the hive partition values of its path."""
    table = pq.ParquetFile(path).read()
    published_metrics = kind == "runs" and "val_loss" in table.schema.names
    names = [canonical_name(f.name, f.type, kind, published_metrics) for f in table.schema]
    columns = {
        name: _column_values(table.column(f.name), f.type)
        for name, f in zip(names, table.schema, strict=True)
    }
    partitions: dict[str, object] = {}
    for part in path.relative_to(folder).parts[:-1]:
        key, text = part.split("=", 1)
        key = key.replace(".", "_")
        assert key not in columns, f"partition column {key} is also stored in {path}"
        partitions[key] = None if text == HIVE_NULL else PARTITION_TYPES[key](text)
    return [
        {**{name: values[i] for name, values in columns.items()}, **partitions}
        for i in range(table.num_rows)
    ]


def read_folder(root: Path, folder: str, kind: str) -> list[dict]:
    """Every row of a folder (empty when the folder is absent)."""
    base = root / folder
    rows: list[dict] = []
    for path in sorted(base.rglob("*.parquet")):
        rows.extend(read_file(path, base, kind))
    return rows


def _preference(folders: Iterable[str], complete: str) -> list[str]:
    """The complete folder first, then the sweep folders by name."""
    return sorted(folders, key=lambda f: (f != complete, f))


@dataclass
class Data:
    """The published data, each run and experiment once."""

    runs: dict[str, dict] = field(default_factory=dict)  # run_id -> row
    run_folders: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    summaries: dict[int, dict] = field(default_factory=dict)  # experiment_id -> summary row
    summary_folders: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    run_metrics: tuple[str, ...] = ()  # canonical per-epoch run arrays
    summary_statistics: tuple[str, ...] = ()  # canonical per-epoch summary arrays

    def runs_of(self, experiment_id: int) -> list[dict]:
        return [r for r in self.runs.values() if r["experiment_id"] == experiment_id]

    @property
    def run_experiment_ids(self) -> set[int]:
        return {r["experiment_id"] for r in self.runs.values()}

    @property
    def experiment_ids(self) -> set[int]:
        return set(self.summaries) | self.run_experiment_ids


def load(root: Path | str) -> Data:
    """Read every runs and summary folder under ``root`` and resolve the copies."""
    root = Path(root)
    data = Data()
    for kind, folders, complete, key, target, where in (
        ("runs", RUN_FOLDERS, COMPLETE_RUNS, "run_id", data.runs, data.run_folders),
        ("summary", SUMMARY_FOLDERS, COMPLETE_SUMMARY, "experiment_id", data.summaries, data.summary_folders),
    ):
        for folder in _preference(folders, complete):
            for row in read_folder(root, folder, kind):
                where[row[key]].append(folder)
                target.setdefault(row[key], row)  # the preferred copy is read first
    data.run_metrics = _list_columns(data.runs.values(), exclude={"widths"})
    data.summary_statistics = _list_columns(data.summaries.values(), exclude={"widths"})
    return data


def _list_columns(rows: Iterable[dict], exclude: set[str]) -> tuple[str, ...]:
    names: list[str] = []
    for row in rows:
        for name, value in row.items():
            if isinstance(value, np.ndarray) and name not in exclude and name not in names:
                names.append(name)
    return tuple(names)


# --- per-run and per-curve rules ----------------------------------------------------------


def best(values: np.ndarray | None, maximize: bool = False) -> tuple[float | None, int | None]:
    """(best finite value, its earliest 1-based epoch); (None, None) when nothing is finite."""
    if values is None:
        return None, None
    finite = np.isfinite(values)
    if not finite.any():
        return None, None
    target = values[finite].max() if maximize else values[finite].min()
    epoch = int(np.flatnonzero(finite & (values == target))[0]) + 1
    return float(target), epoch


def final(values: np.ndarray | None) -> float | None:
    """The last element when it is finite, else None."""
    if values is None or len(values) == 0 or not np.isfinite(values[-1]):
        return None
    return float(values[-1])


def run_best_epochs(data: Data) -> dict[str, dict]:
    """Expected marts.run_best_epochs, by run_id."""
    out = {}
    for run_id, run in data.runs.items():
        test_loss = run["test_loss"]
        best_loss, best_loss_epoch = best(test_loss)
        best_accuracy, best_accuracy_epoch = best(run["test_accuracy"], maximize=True)
        out[run_id] = {
            "run_id": run_id,
            "experiment_id": run["experiment_id"],
            "best_test_loss": best_loss,
            "best_test_loss_epoch": best_loss_epoch,
            "best_test_accuracy": best_accuracy,
            "best_test_accuracy_epoch": best_accuracy_epoch,
            "final_test_loss": final(test_loss),
            "final_train_loss": final(run["train_loss"]),
            "num_epochs": len(test_loss),
            "num_finite_test_loss": int(np.isfinite(test_loss).sum()),
            "is_diverged": bool((~np.isfinite(test_loss)).any()),
        }
    return out


def _attributes(row: dict) -> dict:
    return {column: row.get(column) for column in HYPERPARAMETERS + SWEEP_FLAGS}


#: the median curves experiment_summary reads figures off, and whether their best is the max
MEDIAN_CURVES: dict[str, bool] = {
    "test_loss": False, "test_accuracy": True, "train_loss": False, "train_accuracy": True,
}


def median_curve_figures(summary: dict | None) -> dict:
    """median_curve_{best,best_..._epoch,final}_<metric> of one summary row (all None without one)."""
    row: dict[str, object] = {}
    for metric, maximize in MEDIAN_CURVES.items():
        curve = None if summary is None else summary.get(f"{metric}_median")
        best_value, best_epoch = best(curve, maximize=maximize)
        row[f"median_curve_best_{metric}"] = best_value
        row[f"median_curve_best_{metric}_epoch"] = best_epoch
        row[f"median_curve_final_{metric}"] = final(curve)
    return row


def experiment_summary(data: Data) -> dict[int, dict]:
    """Expected marts.experiment_summary, by experiment_id."""
    runs_found = Counter(r["experiment_id"] for r in data.runs.values())
    out = {}
    for experiment_id in data.experiment_ids:
        summary = data.summaries.get(experiment_id)
        if summary is not None:
            row = {**_attributes(summary), "num_runs": summary["num_runs"], **median_curve_figures(summary)}
        else:
            runs = data.runs_of(experiment_id)
            attributes = [_attributes(r) for r in runs]
            assert all(_same_attributes(a, attributes[0]) for a in attributes), (
                f"runs of run-only experiment {experiment_id} disagree on their hyperparameters"
            )
            row = {**attributes[0], "num_runs": None, **median_curve_figures(None)}
        row.update(experiment_id=experiment_id, runs_found=runs_found.get(experiment_id, 0))
        out[experiment_id] = row
    return out


def _same_attributes(a: dict, b: dict) -> bool:
    return all(_key_value(a[c], c) == _key_value(b[c], c) for c in a)


def _key_value(value: object, column: str) -> object:
    """A hashable, NULL-preserving group-key value (floats as float32)."""
    if value is None:
        return None
    return _f32(value) if column in FLOAT_HYPERPARAMETERS else value


#: run figures experiment_best_epochs summarises over an experiment's runs
DISTRIBUTION_FIGURES: tuple[str, ...] = (
    "best_test_loss_epoch", "best_test_loss", "best_test_accuracy_epoch", "best_test_accuracy", "final_train_loss",
)


def experiment_best_epochs(run_best: dict[str, dict]) -> dict[int, dict]:
    """Expected marts.experiment_best_epochs (experiments with runs), by experiment_id."""
    by_experiment: dict[int, list[dict]] = defaultdict(list)
    for run in run_best.values():
        by_experiment[run["experiment_id"]].append(run)
    out = {}
    for experiment_id, rows in by_experiment.items():
        row: dict[str, object] = {"experiment_id": experiment_id, "runs_found": len(rows)}
        for column in DISTRIBUTION_FIGURES:
            values = np.asarray([r[column] for r in rows if r[column] is not None], dtype=np.float64)
            empty = values.size == 0
            row[f"{column}_min"] = None if empty else float(values.min())
            row[f"{column}_q1"] = None if empty else float(np.quantile(values, 0.25))
            row[f"{column}_median"] = None if empty else float(np.quantile(values, 0.5))
            row[f"{column}_q3"] = None if empty else float(np.quantile(values, 0.75))
            row[f"{column}_max"] = None if empty else float(values.max())
            row[f"{column}_avg"] = None if empty else float(values.mean())
        out[experiment_id] = row
    return out


# --- sweep comparisons --------------------------------------------------------------------


def primary_epochs(experiments: dict[int, dict]) -> int:
    """The training length of the primary sweep (the contract: one length, 3000 in the real data)."""
    lengths = {e["epochs"] for e in experiments.values() if e["is_primary_sweep"]}
    assert len(lengths) == 1, f"the primary sweep should have one training length, found {sorted(lengths)}"
    return lengths.pop()


def core_rule(sweep: str, base_epochs: int) -> Callable[[dict], bool]:
    """Whether an experiment holds the sweep's core value (never, for the primary sweep)."""
    rules: dict[str, Callable[[dict], bool]] = {
        "primary": lambda e: False,
        "300_epoch": lambda e: e["epochs"] == base_epochs,
        "30k_epoch": lambda e: e["epochs"] == base_epochs,
        "learning_rate": lambda e: e["learning_rate"] is not None
        and _f32(e["learning_rate"]) == _f32(CORE_LEARNING_RATE),
        "label_noise": lambda e: e["label_noise"] is not None and _f32(e["label_noise"]) == _f32(CORE_LABEL_NOISE),
        "batch_size": lambda e: e["batch_size"] == CORE_BATCH_SIZE,
        "regularization": lambda e: e["kernel_regularizer_type"] is None,
    }
    return rules[sweep]


def group_key(experiment: dict, sweep: str) -> tuple:
    """The experiment's other hyperparameters in a sweep (NULL is a value of its own)."""
    return tuple(
        _key_value(experiment[c], c) for c in GROUP_CANDIDATES if c not in SWEEP_VARIES[sweep]
    )


def swept_key(experiment: dict, sweep: str) -> tuple:
    """The experiment's swept value (the regularization sweep: penalty type and its size, or none)."""
    if sweep == "regularization":
        kind = experiment["kernel_regularizer_type"]
        size = experiment.get(f"kernel_regularizer_{kind}") if kind in ("l1", "l2") else None
        return ("none",) if kind is None or size is None else (kind, _key_value(size, f"kernel_regularizer_{kind}"))
    return tuple(_key_value(experiment[c], c) for c in SWEEP_VARIES[sweep])


def sql_rank(values: list[float | None]) -> list[int]:
    """SQL rank() ordered ascending, NULLs last: 1 + the number of rows ordered strictly before."""
    non_null = [v for v in values if v is not None]
    return [
        1 + (sum(w < v for w in non_null) if v is not None else len(non_null))
        for v in values
    ]


def sweep_comparisons(experiments: dict[int, dict]) -> dict[tuple[str, int], dict]:
    """Expected marts.sweep_comparisons, by (sweep, experiment_id).

    A sweep's rows: the experiments flagged in it, plus, in every group holding
    a flagged experiment, the group's core-value experiment (flagged or not).
    """
    base_epochs = primary_epochs(experiments)
    out: dict[tuple[str, int], dict] = {}
    for sweep in SWEEPS:
        is_core = core_rule(sweep, base_epochs)
        members = [e for e in experiments.values() if e[f"is_{sweep}_sweep"]]
        member_groups = {group_key(e, sweep) for e in members}
        groups: dict[tuple, list[dict]] = defaultdict(list)
        for e in experiments.values():
            key = group_key(e, sweep)
            if key in member_groups and (e[f"is_{sweep}_sweep"] or is_core(e)):
                groups[key].append(e)
        sweep_values = {swept_key(e, sweep) for rows in groups.values() for e in rows}
        for key, rows in groups.items():
            with_loss = {swept_key(e, sweep) for e in rows if e["median_curve_best_test_loss"] is not None}
            complete = with_loss == sweep_values
            cores = [e for e in rows if is_core(e)]
            assert len(cores) <= 1, f"sweep {sweep}: group {key} has {len(cores)} core experiments"
            core_loss = cores[0]["median_curve_best_test_loss"] if cores else None
            losses = [e["median_curve_best_test_loss"] for e in rows]
            for e, rank in zip(rows, sql_rank(losses), strict=True):
                loss = e["median_curve_best_test_loss"]
                out[(sweep, e["experiment_id"])] = {
                    "sweep": sweep,
                    "experiment_id": e["experiment_id"],
                    "group": key,
                    "group_size": len(rows),
                    "is_core_value": bool(is_core(e)),
                    "is_sweep_member": bool(e[f"is_{sweep}_sweep"]),
                    "median_curve_best_test_loss": loss,
                    "rank_in_group": rank,
                    "delta_vs_core": None if loss is None or core_loss is None else loss - core_loss,
                    "core_median_curve_best_test_loss": core_loss,
                    "group_has_core_value": bool(cores),
                    "group_is_complete": complete,
                    **{c: e[c] for c in GROUP_CANDIDATES},
                }
    return out


# --- long per-epoch tables ----------------------------------------------------------------


def positions(row: dict, arrays: Iterable[str]) -> int:
    """Rows a record gives in a long per-epoch table: its longest array."""
    return max((len(row[a]) for a in arrays if row.get(a) is not None), default=0)


# --- learning curves ----------------------------------------------------------------------

#: the per-epoch statistics of marts.experiment_learning_curves (q1/q3: framework spelling only)
CURVE_STATISTICS: dict[str, tuple[str, ...]] = {
    "test_loss": ("num_finite", "avg", "stddev", "min", "max", "median", "q1", "q3"),
    "train_loss": ("num_finite", "avg", "stddev", "min", "max", "median", "q1", "q3"),
    "test_accuracy": ("avg", "stddev", "median", "q1", "q3"),
    "train_accuracy": ("avg", "stddev", "median", "q1", "q3"),
}
CURVE_COLUMNS: tuple[str, ...] = tuple(f"{m}_{s}" for m, stats in CURVE_STATISTICS.items() for s in stats)
MAX_CURVE_POINTS = 256


def epoch_grid(length: int, extra: int | None, max_points: int = MAX_CURVE_POINTS) -> list[int]:
    """The interface's grid: every epoch of a short curve; else geometric + linear grid + ``extra``."""
    if length <= 0:
        return []
    if length <= max_points:
        return list(range(1, length + 1))
    geometric = max_points // 2
    linear = max_points - geometric - 1
    points = {math.floor(math.exp(k * math.log(length) / (geometric - 1)) + 0.5) for k in range(geometric)}
    points |= {1 + (k * (length - 1) + (linear - 1) // 2) // (linear - 1) for k in range(linear)}
    if extra is not None:
        points.add(extra)
    return sorted(points)


def _statistic(values: np.ndarray, statistic: str) -> float | int | None:
    """A statistic over the finite values of the runs at one epoch (NaN, inf and NULL left out), as NREL's
    PostgreSQL computed the published ones: None without a finite value; the sample standard deviation
    (``stddev_samp``), None below two finite values."""
    finite = values[np.isfinite(values)]
    if statistic == "num_finite":
        return int(finite.size)
    if finite.size < (2 if statistic == "stddev" else 1):
        return None
    functions: dict[str, Callable[[np.ndarray], float]] = {
        "avg": np.mean, "stddev": lambda v: np.std(v, ddof=1), "min": np.min, "max": np.max,
        "median": lambda v: np.quantile(v, 0.5), "q1": lambda v: np.quantile(v, 0.25),
        "q3": lambda v: np.quantile(v, 0.75),
    }
    return float(functions[statistic](finite))


def _curves_from_runs(runs: list[dict]) -> dict[str, np.ndarray]:
    """Per-epoch statistics over the runs (NaN for None), each run's arrays padded with NaN."""
    length = max(positions(run, CURVE_STATISTICS) for run in runs)
    out: dict[str, np.ndarray] = {}
    for metric, stats in CURVE_STATISTICS.items():
        padded = np.full((len(runs), length), np.nan)
        for i, run in enumerate(runs):
            values = run.get(metric)
            if values is not None:
                padded[i, : len(values)] = values
        for statistic in stats:
            column = [_statistic(padded[:, e], statistic) for e in range(length)]
            out[f"{metric}_{statistic}"] = np.asarray([np.nan if v is None else v for v in column])
    return out


def learning_curves(data: Data) -> dict[tuple[int, int], dict]:
    """Expected marts.experiment_learning_curves, by (experiment_id, epoch)."""
    out: dict[tuple[int, int], dict] = {}
    for experiment_id in data.experiment_ids:
        summary = data.summaries.get(experiment_id)
        curves: dict[str, Any]  # the published arrays (lists, or None) or the statistics over the runs
        if summary is not None:
            curves = {c: summary.get(c) for c in CURVE_COLUMNS}
            source = "published_summary"
        else:
            curves = _curves_from_runs(data.runs_of(experiment_id))
            source = "runs"
        length = positions(curves, CURVE_COLUMNS)
        _, best_epoch = best(curves["test_loss_median"])
        for epoch in epoch_grid(length, best_epoch):
            row: dict[str, object] = {
                "experiment_id": experiment_id, "epoch": epoch, "num_epochs": length, "values_source": source,
                "is_median_curve_best_test_loss_epoch": epoch == best_epoch,
            }
            for column in CURVE_COLUMNS:
                values = curves[column]
                value = None if values is None or epoch > len(values) else values[epoch - 1]
                if column.endswith("_num_finite"):
                    row[column] = None if value is None or not np.isfinite(value) else int(value)
                else:
                    row[column] = None if value is None or not np.isfinite(value) else float(value)
            out[(experiment_id, epoch)] = row
    return out
