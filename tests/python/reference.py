"""An independent reference implementation of the marts, for tests/python/test_marts.py.

Reads the published BUTTER folders (demo or real layout) directly with pyarrow,
resolves copies of a run / experiment held in several folders, and computes what
the marts must contain with numpy, following the warehouse interface
(docs/warehouse-interface.md), not the dbt SQL. Nothing here imports the
warehouse's own code: column names are mapped with the renaming rules of the
data contract (``val_X`` -> ``test_X``, ``X`` -> ``train_X``, dots ->
underscores, ``<sweep>_sweep`` -> ``is_<sweep>_sweep``).

Both layouts are read: the template's (``all_runs/``, ``complete_summary/``, sweep runs
and summary folders) and NREL's current release (``all_repetitions/`` with the Keras
array names, underscore hyperparameters, ``optimizer_sweep_summary/``,
``complete_executive_summary/`` with few columns and NREL's best-point columns as
one-element lists), or any mix: a run (experiment) held in several folders is read
from the first folder in the contract's order (the all-sweeps folders first, the
executive summary last). NREL's best-point columns
``<metric>_<min|max>_<epoch|value>_<stat>`` are read as ``nrel_best_<metric>[_epoch]_<stat>``
(a one-element list as its element).

A NULL element of a per-epoch array means "no value at this epoch", exactly like
NaN or +/-inf (the data contract: NREL stored non-finite values as NULL): arrays
are read with their NULL elements as NaN, so every rule below (best and final
values, num_finite, divergence, curve statistics) treats the three alike. Where
the reference recomputes summary statistics from runs it does what NREL's
PostgreSQL did: statistics over the finite values, sample standard deviation
(none below two finite values).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# --- facts of the data contract -----------------------------------------------------------

SWEEPS: tuple[str, ...] = (
    "primary", "300_epoch", "30k_epoch", "learning_rate", "label_noise", "batch_size", "regularization", "optimizer",
)
#: the folders holding every sweep's runs (copies of each other when both exist), then the per-sweep ones
COMPLETE_RUN_FOLDERS: tuple[str, ...] = ("all_runs", "all_repetitions")
COMPLETE_SUMMARY = "complete_summary"
EXECUTIVE_SUMMARY = "complete_executive_summary"
#: folders in the order a copy is preferred (the data contract's order: all-sweeps folders first, the
#: executive summary, which keeps few columns, last)
RUN_FOLDERS: tuple[str, ...] = COMPLETE_RUN_FOLDERS + tuple(f"{s}_sweep_runs" for s in SWEEPS)
SUMMARY_FOLDERS: tuple[str, ...] = (
    (COMPLETE_SUMMARY,) + tuple(f"{s}_sweep_summary" for s in SWEEPS) + (EXECUTIVE_SUMMARY,)
)
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"

#: the metrics each run's best point is taken of (True: the best is the maximum), the warehouse's
#: ``best_<metric>[_epoch]`` and NREL's published distributions of them
BEST_POINT_METRICS: dict[str, bool] = {
    "test_loss": False, "test_accuracy": True, "test_mean_squared_error": False,
    "test_kullback_leibler_divergence": False,
}
DISTRIBUTION_STATS: tuple[str, ...] = ("min", "q1", "median", "q3", "max", "avg")
#: NREL's column name of a best-point statistic
NREL_BEST_POINT = re.compile(
    r"^(?P<metric>" + "|".join(BEST_POINT_METRICS) + r")_(?P<direction>min|max)_(?P<part>epoch|value)_"
    r"(?P<stat>" + "|".join(DISTRIBUTION_STATS) + r")$"
)
#: tolerances of the reconciliation of NREL's best points with the runs
VALUE_TOLERANCE = 1e-5  # relative (float32)
EPOCH_TOLERANCE = 1e-3  # absolute, after the base conversion


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
    "optimizer",
)
FLOAT_HYPERPARAMETERS = frozenset({"learning_rate", "label_noise", "kernel_regularizer_l1", "kernel_regularizer_l2"})
SWEEP_FLAGS: tuple[str, ...] = tuple(f"is_{s}_sweep" for s in SWEEPS)

#: sweep comparisons: the hyperparameters a group may share ...
GROUP_CANDIDATES: tuple[str, ...] = (
    "dataset", "shape", "depth", "size", "learning_rate", "batch_size", "label_noise",
    "kernel_regularizer_type", "kernel_regularizer_l1", "kernel_regularizer_l2", "epochs", "optimizer", "momentum",
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
    "optimizer": ("optimizer", "momentum"),
}
CORE_LEARNING_RATE = 0.0001
CORE_BATCH_SIZE = 256
CORE_LABEL_NOISE = 0.0
CORE_OPTIMIZER = "adam"


# --- reading ------------------------------------------------------------------------------


def canonical_name(name: str, arrow_type: pa.DataType, kind: str, published_metrics: bool) -> str:
    """The warehouse (test/train) spelling of a stored column name."""
    name = name.replace(".", "_")
    best_point = NREL_BEST_POINT.match(name) if kind == "summary" else None
    if best_point:
        epoch = "_epoch" if best_point["part"] == "epoch" else ""
        return f"nrel_best_{best_point['metric']}{epoch}_{best_point['stat']}"
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
    for name in columns:
        if name.startswith("nrel_best_"):
            columns[name] = [_scalar(value) for value in columns[name]]
    return [
        {**{name: values[i] for name, values in columns.items()}, **partitions}
        for i in range(table.num_rows)
    ]


def _scalar(value: object) -> float | None:
    """A best-point value: float32, or a one-element list read as its element; NULL, NaN, +/-inf as None."""
    if isinstance(value, np.ndarray):
        assert len(value) <= 1, f"a best-point column holds a list of {len(value)} elements"
        value = value[0] if len(value) else None
    if value is None:
        return None
    number = float(cast(float, value))
    return _f32(number) if math.isfinite(number) else None


def read_folder(root: Path, folder: str, kind: str) -> list[dict]:
    """Every row of a folder (empty when the folder is absent)."""
    base = root / folder
    rows: list[dict] = []
    for path in sorted(base.rglob("*.parquet")):
        rows.extend(read_file(path, base, kind))
    return rows




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
    for kind, folders, key, target, where in (
        ("runs", RUN_FOLDERS, "run_id", data.runs, data.run_folders),
        ("summary", SUMMARY_FOLDERS, "experiment_id", data.summaries, data.summary_folders),
    ):
        for folder in folders:
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


def momentum(command: object) -> float | None:
    """The momentum in a run's command (JSON, Keras style: ``$.optimizer.config.momentum``); None when the
    command is absent or not JSON, the key is absent, or its value is not a number (a numeric string is read)."""
    if not isinstance(command, str):
        return None
    try:
        settings = json.loads(command)
    except ValueError:
        return None
    for key in ("optimizer", "config", "momentum"):
        if not isinstance(settings, dict):
            return None
        settings = settings.get(key)
    if isinstance(settings, bool) or settings is None:
        return None
    try:
        return float(settings)
    except (TypeError, ValueError):
        return None


def run_best_epochs(data: Data) -> dict[str, dict]:
    """Expected marts.run_best_epochs, by run_id."""
    out = {}
    for run_id, run in data.runs.items():
        test_loss = run["test_loss"]
        row: dict[str, object] = {"run_id": run_id, "experiment_id": run["experiment_id"]}
        for metric, maximize in BEST_POINT_METRICS.items():
            row[f"best_{metric}"], row[f"best_{metric}_epoch"] = best(run.get(metric), maximize=maximize)
        out[run_id] = {
            **row,
            "final_test_loss": final(test_loss),
            "final_train_loss": final(run["train_loss"]),
            "num_epochs": len(test_loss),
            "num_finite_test_loss": int(np.isfinite(test_loss).sum()),
            "is_diverged": bool((~np.isfinite(test_loss)).any()),
            "momentum": momentum(run.get("command")),
        }
    return out


def experiment_momentum(runs: Iterable[dict]) -> float | None:
    """The momentum most of an experiment's runs hold (the smaller on a tie); None when no run has one."""
    counts = Counter(m for m in (momentum(r.get("command")) for r in runs) if m is not None)
    if not counts:
        return None
    return min(counts, key=lambda m: (-counts[m], m))


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
        row.update(
            experiment_id=experiment_id,
            runs_found=runs_found.get(experiment_id, 0),
            momentum=experiment_momentum(data.runs_of(experiment_id)),
        )
        out[experiment_id] = row
    return out


def _same_attributes(a: dict, b: dict) -> bool:
    return all(_key_value(a[c], c) == _key_value(b[c], c) for c in a)


def _key_value(value: object, column: str) -> object:
    """A hashable, NULL-preserving group-key value (floats as float32)."""
    if value is None:
        return None
    return _f32(value) if column in FLOAT_HYPERPARAMETERS else value


#: run figures experiment_best_epochs summarises over an experiment's runs (the warehouse's own)
DISTRIBUTION_FIGURES: tuple[str, ...] = tuple(
    figure for metric in BEST_POINT_METRICS for figure in (f"best_{metric}_epoch", f"best_{metric}")
) + ("final_train_loss",)
#: NREL's published best-point statistics: (staged name, NREL's column, the warehouse's own column, is an epoch)
NREL_STATISTICS: tuple[tuple[str, str, str, bool], ...] = tuple(
    (
        f"nrel_best_{metric}{'_epoch' if part == 'epoch' else ''}_{stat}",
        f"{metric}_{'max' if maximize else 'min'}_{part}_{stat}",
        f"best_{metric}{'_epoch' if part == 'epoch' else ''}_{stat}",
        part == "epoch",
    )
    for metric, maximize in BEST_POINT_METRICS.items()
    for part in ("epoch", "value")
    for stat in DISTRIBUTION_STATS
)


def _distribution(values: list[float | None]) -> dict[str, float | None]:
    """min, q1, median, q3 (continuous), max, avg over the values that are not None (all None without one)."""
    finite = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if finite.size == 0:
        return dict.fromkeys(DISTRIBUTION_STATS)
    return {
        "min": float(finite.min()), "q1": float(np.quantile(finite, 0.25)),
        "median": float(np.quantile(finite, 0.5)), "q3": float(np.quantile(finite, 0.75)),
        "max": float(finite.max()), "avg": float(finite.mean()),
    }


def experiment_best_epochs(run_best: dict[str, dict]) -> dict[int, dict]:
    """The warehouse's own distributions over each experiment's runs (experiments with runs), by
    experiment_id: ``<figure>_<stat>`` for DISTRIBUTION_FIGURES, runs_found and the
    ``runs_with_finite_<metric>`` / ``runs_with_final_train_loss`` counts."""
    by_experiment: dict[int, list[dict]] = defaultdict(list)
    for run in run_best.values():
        by_experiment[run["experiment_id"]].append(run)
    out = {}
    for experiment_id, rows in by_experiment.items():
        row: dict[str, object] = {"experiment_id": experiment_id, "runs_found": len(rows)}
        for column in DISTRIBUTION_FIGURES:
            for stat, value in _distribution([r[column] for r in rows]).items():
                row[f"{column}_{stat}"] = value
        for metric in BEST_POINT_METRICS:
            row[f"runs_with_finite_{metric}"] = sum(r[f"best_{metric}"] is not None for r in rows)
        row["runs_with_final_train_loss"] = sum(r["final_train_loss"] is not None for r in rows)
        out[experiment_id] = row
    return out


def _comparable(data: Data, run_best: dict[int, dict]) -> dict[int, dict]:
    """The warehouse's own distributions of the experiments on which NREL's can be checked: a published
    summary, every run present (runs_found = num_runs > 0). (The warehouse also leaves out experiments with
    a run holding other hyperparameters than the experiment; the demo has none.)"""
    return {
        experiment_id: own
        for experiment_id, own in run_best.items()
        if experiment_id in data.summaries and own["runs_found"] == data.summaries[experiment_id]["num_runs"]
    }


def epoch_base(data: Data) -> dict[str, int | None]:
    """Expected audit.best_point_epoch_base: whether NREL's best-point epochs count from 0 or 1, detected
    from the data. Over the comparable experiments, each metric's smallest and largest best epoch that
    both NREL and the runs give (NREL's ``<metric>_<min|max>_epoch_min`` / ``_max``) is compared at base
    0 (NREL's + 1) and at base 1 (as stored); an experiment agrees at a base when all its compared epochs
    do. Returns {epoch_base (0, 1 or None: no comparable experiment, or a tie), experiments_compared,
    experiments_agreeing_at_base_0, experiments_agreeing_at_base_1, experiments_agreeing_at_neither}."""
    own_by_experiment = _comparable(data, experiment_best_epochs(run_best_epochs(data)))
    agree: Counter[int] = Counter()
    compared = 0
    for experiment_id, own in own_by_experiment.items():
        summary = data.summaries[experiment_id]
        pairs = [
            (float(summary[staged]), float(own[column]))
            for staged, _, column, is_epoch in NREL_STATISTICS
            if is_epoch and staged.rsplit("_", 1)[1] in ("min", "max")
            and summary.get(staged) is not None and own[column] is not None
        ]
        if not pairs:
            continue
        compared += 1
        for base in (0, 1):
            if all(abs(nrel + 1 - base - runs) <= EPOCH_TOLERANCE for nrel, runs in pairs):
                agree[base] += 1
    detected = 0 if agree[0] > agree[1] else 1 if agree[1] > agree[0] else None
    return {
        "epoch_base": detected,
        "experiments_compared": compared,
        "experiments_agreeing_at_base_0": agree[0],
        "experiments_agreeing_at_base_1": agree[1],
        "experiments_agreeing_at_neither": compared - agree[0] - agree[1],
    }


def best_point_distributions(data: Data) -> dict[int, dict]:
    """Expected marts.experiment_best_epochs, by experiment_id: one row per experiment with runs or a
    published summary, with the warehouse's own distributions (``best_..._<stat>``, all None without runs;
    runs_found 0), ``runs_with_*``, has_published_summary, has_nrel_best_points, nrel_epoch_base and NREL's
    published ones (``nrel_best_..._<stat>``, None where not published or not finite), NREL's epochs
    converted to 1-based by the detected base (as stored when it is unknown)."""
    own = experiment_best_epochs(run_best_epochs(data))
    base = epoch_base(data)["epoch_base"]
    shift = 0 if base is None else 1 - base
    empty = {
        "runs_found": 0,
        **{f"{column}_{stat}": None for column in DISTRIBUTION_FIGURES for stat in DISTRIBUTION_STATS},
        **{f"runs_with_finite_{metric}": 0 for metric in BEST_POINT_METRICS},
        "runs_with_final_train_loss": 0,
    }
    out = {}
    for experiment_id in data.experiment_ids:
        summary = data.summaries.get(experiment_id) or {}
        row = {**empty, **own.get(experiment_id, {}), "experiment_id": experiment_id}
        row["has_published_summary"] = experiment_id in data.summaries
        row["nrel_epoch_base"] = base
        for staged, _, _, is_epoch in NREL_STATISTICS:
            value = summary.get(staged)
            row[staged] = None if value is None else value + shift if is_epoch else value
        row["has_nrel_best_points"] = any(row[staged] is not None for staged, *_ in NREL_STATISTICS)
        out[experiment_id] = row
    return out


def _text(value: float, float32: bool) -> str:
    """A number as the warehouse writes it in a detail: the shortest round-trip decimal of the float32
    (NREL's values, the runs' best values) or of the double (the runs' epoch statistics)."""
    return str(np.float32(value)) if float32 else repr(float(value))


def best_point_disagreements(data: Data) -> dict[tuple[int, str], dict]:
    """Expected rows of audit.source_reconciliation with difference experiment_best_point_disagrees_with_runs,
    by (experiment_id, NREL's column): over the comparable experiments (see epoch_base), each NREL
    statistic published (not None) that differs from the warehouse's own from the runs (None counts as
    different): values beyond a relative 1e-5, epochs (converted by the detected base) beyond 1e-3; epochs
    are not checked while the base is unknown. Each row: experiment_id, nrel_column, nrel_value (as
    stored), nrel_value_converted (epochs: 1-based; None while the base is unknown), runs_value, detail
    (the warehouse's text)."""
    own_by_experiment = _comparable(data, experiment_best_epochs(run_best_epochs(data)))
    base = epoch_base(data)["epoch_base"]
    out: dict[tuple[int, str], dict] = {}
    for experiment_id, own in own_by_experiment.items():
        summary = data.summaries[experiment_id]
        for staged, column, own_column, is_epoch in NREL_STATISTICS:
            nrel, runs = summary.get(staged), own[own_column]
            if nrel is None or (is_epoch and base is None):
                continue
            converted = nrel + 1 - base if is_epoch and base is not None else nrel
            if is_epoch:
                agrees = runs is not None and abs(converted - runs) <= EPOCH_TOLERANCE
            else:
                agrees = runs is not None and abs(nrel - runs) <= VALUE_TOLERANCE * max(abs(nrel), abs(runs))
            if agrees:
                continue
            shown = f" (counted from 0: {_text(nrel + 1, True)})" if is_epoch and base == 0 else ""
            runs_text = "none" if runs is None else _text(runs, not is_epoch)
            out[(experiment_id, column)] = {
                "experiment_id": experiment_id,
                "nrel_column": column,
                "nrel_value": nrel,
                "nrel_value_converted": converted if is_epoch else nrel,
                "runs_value": runs,
                "detail": f"{column}: NREL {_text(nrel, True)}{shown} vs {runs_text} from the runs",
            }
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
        "optimizer": lambda e: e["optimizer"] is not None and e["optimizer"].lower() == CORE_OPTIMIZER
        and not e["momentum"],
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
    if sweep == "optimizer":
        return (optimizer_label(experiment),)
    return tuple(_key_value(experiment[c], c) for c in SWEEP_VARIES[sweep])


def optimizer_label(experiment: dict) -> str | None:
    """The optimizer sweep's swept value: the optimizer as published, with ``momentum <m>`` when above 0."""
    optimizer, m = experiment["optimizer"], experiment["momentum"]
    if optimizer is None:
        return None
    return f"{optimizer} momentum {m!r}" if m is not None and m > 0 else optimizer


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
