"""Correctness of the marts (and the long intermediate tables) against an independent reference.

For each source spelling the default demo data is built with ``dbt build`` (the
template layout in the published and framework spellings, NREL's current release
in the current spelling); the same parquet folders are read back with pyarrow and
every mart is recomputed with numpy in ``reference.py`` from the warehouse
interface (docs/warehouse-interface.md), then compared row by row (float32
tolerance for floats). Every trap of the demo manifest is checked by name.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest

import reference as ref
from conftest import PROJECT_ROOT, DbtResult

pytestmark = pytest.mark.slow

#: the demo builds compared (``current``: the current release's layout, built once per session and
#: shared with the other modules that build it through ``built_warehouse("current")``; ``mix``: that
#: root with its runs in all_runs/ too, in the template's spelling, the optimizer sweep's runs in
#: optimizer_sweep_runs/ too, and complete_summary/ missing: conftest.make_mixed_root)
SPELLINGS = ("published", "framework", "current", "mix")
MANIFEST = "_demo_manifest.json"
#: relative tolerance of a float32 value (a few ulps) and of a double
F32 = 1e-6
F64 = 1e-9
#: the traps this module checks; a new trap in the generator must get a test here
CHECKED_TRAPS = {
    "nonfinite_losses", "diverged_run", "tied_best_epochs", "missing_run", "summary_only_experiment",
    "run_only_experiment", "sweep_group_without_core", "null_partition", "regression_and_classification",
    "one_run_experiments", "all_runs_diverged_epochs", "null_element_runs", "best_point_disagreements",
}
#: the traps of the current layout only
CURRENT_LAYOUT_TRAPS = {"best_point_disagreements"}


# --- fixtures -----------------------------------------------------------------------------


@dataclass
class Case:
    """One built warehouse, the data it was built from and the reference figures."""

    spelling: str
    root: Path
    con: duckdb.DuckDBPyConnection
    data: ref.Data
    manifest: dict
    run_best: dict[str, dict]
    experiments: dict[int, dict]
    experiment_best: dict[int, dict]
    epoch_base: dict[str, int | None]
    disagreements: dict[tuple[int, str], dict]
    comparisons: dict[tuple[str, int], dict]
    curves: dict[tuple[int, int], dict]

    def rows(self, sql: str) -> list[dict]:
        cursor = self.con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def columns(self, relation: str) -> list[str]:
        return [row[0] for row in self.con.execute(f"describe {relation}").fetchall()]

    @property
    def is_current_layout(self) -> bool:
        return self.manifest["parameters"].get("layout", "template") == "current"

    @property
    def runs_folder(self) -> str:
        return self.manifest.get("runs_folder", "all_runs")

    def trap(self, name: str) -> dict:
        traps = self.manifest["traps"]
        assert name in traps, f"the demo manifest has no trap {name!r}"
        return traps[name]


@pytest.fixture(scope="module", params=SPELLINGS)
def case(request, demo_root: Callable[..., Path], built_warehouse: Callable[[str], DbtResult]) -> Iterator[Case]:
    spelling = request.param
    root = demo_root(spelling)
    result = built_warehouse(spelling)
    data = ref.load(root)
    run_best = ref.run_best_epochs(data)
    experiments = ref.experiment_summary(data)
    con = duckdb.connect(str(result.db_path), read_only=True)
    try:
        yield Case(
            spelling=spelling,
            root=root,
            con=con,
            data=data,
            manifest=json.loads((root / MANIFEST).read_text()),
            run_best=run_best,
            experiments=experiments,
            experiment_best=ref.best_point_distributions(data),
            epoch_base=ref.epoch_base(data),
            disagreements=ref.best_point_disagreements(data),
            comparisons=ref.sweep_comparisons(experiments),
            curves=ref.learning_curves(data),
        )
    finally:
        con.close()


# --- comparison helpers -------------------------------------------------------------------


def same(actual: Any, expected: Any, tolerance: float | str | None) -> bool:
    """Equal, NULL-safe; floats within a relative tolerance ('f32': equal as float32; 'decimal': exactly
    the double of the expected float32's shortest round-trip decimal, as the marts store hyperparameters)."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if tolerance == "decimal":
        return isinstance(actual, float) and actual == float(str(np.float32(expected)))
    if tolerance == "f32":
        return bool(np.float32(actual) == np.float32(expected))
    if isinstance(actual, bool) or isinstance(expected, bool):
        return type(actual) is type(expected) and actual == expected
    if tolerance is None:
        return actual == expected
    return math.isclose(float(actual), float(expected), rel_tol=float(tolerance), abs_tol=1e-30)


def compare(actual: dict, expected: dict, columns: dict[str, float | str | None], what: str) -> None:
    """Same keys, and every listed column equal; all differences reported at once."""
    missing, extra = sorted(set(expected) - set(actual), key=str), sorted(set(actual) - set(expected), key=str)
    assert not missing and not extra, f"{what}: rows missing {missing[:10]}, unexpected {extra[:10]}"
    problems = [
        f"{what} {key}: {column} = {actual[key][column]!r}, expected {row[column]!r}"
        for key, row in sorted(expected.items(), key=lambda item: str(item[0]))
        for column, tolerance in columns.items()
        if not same(actual[key][column], row[column], tolerance)
    ]
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} differences)"


def keyed(rows: list[dict], *key: str) -> dict:
    out = {}
    for row in rows:
        k = row[key[0]] if len(key) == 1 else tuple(row[c] for c in key)
        assert k not in out, f"duplicate key {k}"
        out[k] = row
    return out


HYPERPARAMETER_TOLERANCE: dict[str, float | str | None] = {
    **{c: ("decimal" if c in ref.FLOAT_HYPERPARAMETERS else None) for c in ref.HYPERPARAMETERS},
    "momentum": None,  # the double read from the runs' command JSON
}


def test_self_check_comparison_helper() -> None:
    """The helper itself can fail (NULL vs value, bool vs int, float32 tolerance)."""
    assert same(None, None, F32) and not same(None, 0.0, F32) and not same(0.0, None, None)
    assert same(True, True, None) and not same(1, True, None) and not same(False, 0, None)
    assert same(1.0, 1.0 + 1e-8, F32) and not same(1.0, 1.0001, F32)
    assert same(0.0001, np.float32(0.0001), "decimal") and not same(float(np.float32(0.0001)), 0.0001, "decimal")
    assert ref.sql_rank([2.0, None, 1.0, 2.0, None]) == [2, 4, 1, 2, 4]


# --- run_best_epochs ----------------------------------------------------------------------


RUN_BEST_COLUMNS: dict[str, float | str | None] = {
    "experiment_id": None,
    **{c: F32 for metric in ref.BEST_POINT_METRICS for c in (f"best_{metric}",)},
    **{c: None for metric in ref.BEST_POINT_METRICS for c in (f"best_{metric}_epoch",)},
    "momentum": None,
    "final_test_loss": F32,
    "final_train_loss": F32,
    "num_epochs": None,
    "num_finite_test_loss": None,
    "is_diverged": None,
}


def test_run_best_epochs_one_row_per_run(case: Case) -> None:
    rows = case.rows("select run_id from marts.run_best_epochs")
    run_ids = [r["run_id"] for r in rows]
    assert len(run_ids) == len(set(run_ids)), "run_best_epochs repeats a run_id"
    assert set(run_ids) == set(case.data.runs), "run_best_epochs must hold exactly the runs of the run folders"
    # the template's runs folders hold copies: the reconciliation is with distinct run_ids, not rows
    copies = sum(len(f) for f in case.data.run_folders.values())
    if case.spelling == "current":
        assert copies == len(case.data.runs), "the current layout holds each run once, in all_repetitions"
    else:
        assert copies > len(case.data.runs), "the demo should hold runs in several folders"


def test_run_best_epochs_values(case: Case) -> None:
    actual = keyed(case.rows("select * from marts.run_best_epochs"), "run_id")
    compare(actual, case.run_best, RUN_BEST_COLUMNS, f"[{case.spelling}] run_best_epochs")
    # the momentum is read where the commands carry it (the current layout's SGD and RMSprop runs)
    momenta = {r["momentum"] for r in case.run_best.values()}
    assert (momenta - {None} != set()) == case.is_current_layout, momenta


# --- experiment_summary -------------------------------------------------------------------


SUMMARY_COLUMNS: dict[str, float | str | None] = {
    **HYPERPARAMETER_TOLERANCE,
    **{flag: None for flag in ref.SWEEP_FLAGS},
    "num_runs": None,
    "runs_found": None,
    "momentum": None,
    **{
        column: (None if column.endswith("_epoch") else F32)
        for column in ref.median_curve_figures(None)
    },
}


def test_experiment_summary_one_row_per_experiment(case: Case) -> None:
    rows = case.rows("select experiment_id from marts.experiment_summary")
    ids = [r["experiment_id"] for r in rows]
    assert len(ids) == len(set(ids)), "experiment_summary repeats an experiment_id"
    # summaries and runs do not hold the same experiments (both differences are traps)
    assert set(case.data.summaries) != case.data.run_experiment_ids
    assert set(ids) == set(case.data.summaries) | case.data.run_experiment_ids


def test_experiment_summary_values(case: Case) -> None:
    actual = keyed(case.rows("select * from marts.experiment_summary"), "experiment_id")
    compare(actual, case.experiments, SUMMARY_COLUMNS, f"[{case.spelling}] experiment_summary")


# --- experiment_best_epochs ---------------------------------------------------------------


DISTRIBUTION_COLUMNS: dict[str, float | str | None] = {
    **{
        f"{figure}_{s}": (F64 if figure.endswith("_epoch") else F32)
        for figure in ref.DISTRIBUTION_FIGURES
        for s in ref.DISTRIBUTION_STATS
    },
    "runs_found": None,
    **{f"runs_with_finite_{metric}": None for metric in ref.BEST_POINT_METRICS},
    "runs_with_final_train_loss": None,
    "has_published_summary": None,
    "has_nrel_best_points": None,
    "nrel_epoch_base": None,
    # NREL's epochs: float32 plus the base shift, in double; its values: float32
    **{staged: (F64 if is_epoch else F32) for staged, _, _, is_epoch in ref.NREL_STATISTICS},
}


def test_experiment_best_epochs_values(case: Case) -> None:
    actual = keyed(case.rows("select * from marts.experiment_best_epochs"), "experiment_id")
    assert set(actual) == case.data.experiment_ids, "one row per experiment with runs or a published summary"
    compare(actual, case.experiment_best, DISTRIBUTION_COLUMNS, f"[{case.spelling}] experiment_best_epochs")
    # NREL's distributions are published in the current layout only, beside the warehouse's own
    published = [e for e in case.experiment_best.values() if e["has_nrel_best_points"]]
    assert bool(published) == case.is_current_layout
    assert all(e["nrel_epoch_base"] is None for e in case.experiment_best.values()) != case.is_current_layout
    # the quantiles are interpolated, not picked: some experiment must have a non-integer epoch quantile
    interpolated = [
        e for e in case.experiment_best.values()
        if any(e[f"best_test_loss_epoch_{s}"] is not None and e[f"best_test_loss_epoch_{s}"] % 1
               for s in ("q1", "median", "q3"))
    ]
    assert interpolated, "the demo should exercise linear interpolation of the epoch quantiles"


# --- NREL's best points: epoch base and reconciliation -------------------------------------


def test_best_point_epoch_base(case: Case) -> None:
    """The base is detected from the data as the reference detects it; in the current layout it is the
    demo's (the manifest's best_point_epoch_base), in the template layout unknown (nothing to compare)."""
    row = one(case, "select * from audit.best_point_epoch_base")
    assert {k: row[k] for k in case.epoch_base} == case.epoch_base
    assert row["note"]
    if case.is_current_layout:
        assert row["epoch_base"] == case.manifest["best_point_epoch_base"]
        assert row["experiments_compared"] > 0
    else:
        assert row["epoch_base"] is None and row["experiments_compared"] == 0


def test_best_point_disagreements(case: Case) -> None:
    """Exactly the reference's rows, one per experiment and NREL statistic, each naming both values."""
    rows = case.rows(
        "select experiment_id, detail from audit.source_reconciliation "
        "where difference = 'experiment_best_point_disagrees_with_runs'"
    )
    actual = keyed([{**r, "nrel_column": r["detail"].split(":", 1)[0]} for r in rows], "experiment_id", "nrel_column")
    assert set(actual) == set(case.disagreements)
    problems = [
        f"{key}: {actual[key]['detail']!r}, expected {expected['detail']!r}"
        for key, expected in case.disagreements.items()
        if actual[key]["detail"] != expected["detail"]
    ]
    assert not problems, "\n".join(problems)


def test_trap_best_point_disagreements(case: Case) -> None:
    """Each planted disagreement is reported, and no other statistic of an experiment whose runs are all
    present; in the template layout (no NREL best points) nothing is."""
    if not case.is_current_layout:
        assert not case.disagreements
        assert not case.rows("select * from audit.source_reconciliation "
                             "where difference = 'experiment_best_point_disagrees_with_runs'")
        return
    trap = case.trap("best_point_disagreements")
    planted = {(d["experiment_id"], d["column"]): d for d in trap["disagreements"]}
    assert set(case.disagreements) == set(planted), "the reference must find exactly the planted ones"
    base = case.manifest["best_point_epoch_base"]
    for key, d in planted.items():
        row = one(case, f"select * from marts.experiment_best_epochs where experiment_id = {key[0]}")
        is_epoch = "_epoch_" in d["column"]
        published = row[d["staged_as"]]
        # NREL's value is published beside the warehouse's own, the epoch converted to 1-based
        assert same(published, d["published_value"] + (1 - base if is_epoch else 0), F32), (key, published)
        detail = case.disagreements[key]["detail"]
        assert detail.startswith(f"{d['column']}: NREL ") and " from the runs" in detail


def test_optimizer_sweep_values(case: Case) -> None:
    """The current layout's optimizer sweep: every optimizer and momentum of the demo's design, adam (momentum
    NULL) as the core of each group."""
    rows = case.rows("select * from marts.sweep_comparisons where sweep = 'optimizer'")
    if not case.is_current_layout:
        assert not rows
        return
    design = case.manifest["design"]["optimizer_sweep"]["optimizers"]
    expected = {ref.optimizer_label(o) for o in design}
    assert {r["swept_value"] for r in rows} == expected
    cores = {r["swept_value"] for r in rows if r["is_core_value"]}
    assert cores and all(v.lower() == ref.CORE_OPTIMIZER for v in cores)
    assert any(r["group_is_complete"] for r in rows)


# --- sweep_comparisons --------------------------------------------------------------------


COMPARISON_COLUMNS: dict[str, float | str | None] = {
    "is_core_value": None,
    "median_curve_best_test_loss": F32,
    "rank_in_group": None,
    "group_is_complete": None,
    **{c: HYPERPARAMETER_TOLERANCE[c] for c in ref.GROUP_CANDIDATES},
}


def read_sweeps_seed() -> dict[str, dict]:
    with open(PROJECT_ROOT / "seeds" / "butter_sweeps.csv", newline="") as handle:
        return {row["sweep"]: row for row in csv.DictReader(handle)}


def test_sweep_comparisons_rows(case: Case) -> None:
    """One row per (sweep, experiment): the flagged experiments plus the core of each of their groups."""
    actual = keyed(case.rows("select * from marts.sweep_comparisons"), "sweep", "experiment_id")
    assert {s for s, _ in actual} == {s for s, _ in case.comparisons}
    # the optimizer sweep is the current release's: the template layout has none
    assert ("optimizer" in {s for s, _ in actual}) == case.is_current_layout
    compare(actual, case.comparisons, {}, f"[{case.spelling}] sweep_comparisons rows")
    # non-member core rows exist (the epoch sweeps' 3000-epoch experiments)
    assert any(not r["is_sweep_member"] for r in case.comparisons.values())


def test_sweep_comparisons_values(case: Case) -> None:
    actual = keyed(case.rows("select * from marts.sweep_comparisons"), "sweep", "experiment_id")
    compare(actual, case.comparisons, COMPARISON_COLUMNS, f"[{case.spelling}] sweep_comparisons")
    problems = []
    for key, expected in case.comparisons.items():
        row = actual[key]
        # delta_vs_core: a difference of two float32 values; tolerance relative to the operands
        delta, want = row["delta_vs_core"], expected["delta_vs_core"]
        if (delta is None) != (want is None) or (
            want is not None
            and abs(delta - want) > F32 * max(abs(expected["median_curve_best_test_loss"]),
                                              abs(expected["core_median_curve_best_test_loss"]))
        ):
            problems.append(f"{key}: delta_vs_core = {delta!r}, expected {want!r}")
    assert not problems, "\n".join(problems[:40])
    assert any(r["delta_vs_core"] is not None for r in case.comparisons.values())
    assert any(r["rank_in_group"] > 1 for r in case.comparisons.values())


def test_sweep_comparisons_groups(case: Case) -> None:
    """The warehouse's comparison groups are exactly the reference's (other hyperparameters, NULL-safe)."""
    actual = keyed(case.rows("select * from marts.sweep_comparisons"), "sweep", "experiment_id")
    for sweep in ref.SWEEPS:
        pairs = {
            (case.comparisons[key]["group"], row["comparison_group_id"])
            for key, row in actual.items()
            if key[0] == sweep and key in case.comparisons
        }
        groups = {g for g, _ in pairs}
        ids = {i for _, i in pairs}
        assert len(pairs) == len(groups) == len(ids), f"sweep {sweep}: groups differ from the reference's"
    # the regularization sweep compares L1 and L2 of one setting in a group with the unregularized core
    regularization = [r for r in case.comparisons.values() if r["sweep"] == "regularization"]
    by_group: dict[tuple, set] = {}
    for r in regularization:
        by_group.setdefault(r["group"], set()).add(r["kernel_regularizer_type"])
    assert any(types >= {None, "l1", "l2"} for types in by_group.values())


def test_sweep_comparisons_swept_values(case: Case) -> None:
    seed = read_sweeps_seed()
    problems = []
    for row in case.rows("select * from marts.sweep_comparisons"):
        sweep = row["sweep"]
        if row["swept_parameter"] != seed[sweep]["swept_parameter"]:
            problems.append(f"{sweep}: swept_parameter {row['swept_parameter']!r}")
        value = row["swept_value"]
        if sweep == "optimizer":
            ok = value == ref.optimizer_label(row) and row["swept_value_numeric"] is None
        elif sweep == "regularization":
            kind = row["kernel_regularizer_type"]
            penalty = {"l1": row["kernel_regularizer_l1"], "l2": row["kernel_regularizer_l2"]}.get(kind)
            ok = value == "none" if kind is None else (
                value.split()[0] == kind and np.float32(value.split()[-1]) == np.float32(penalty)
            )
        else:
            column = ref.SWEEP_VARIES[sweep][0]
            ok = np.float32(float(value)) == np.float32(row[column])
        if not ok:
            problems.append(f"{sweep} experiment {row['experiment_id']}: swept_value {value!r}")
        if sweep == "primary" and (row["is_core_value"] is not False or row["delta_vs_core"] is not None):
            problems.append(f"primary experiment {row['experiment_id']}: core {row['is_core_value']!r}")
    assert not problems, "\n".join(problems[:40])


# --- experiment_learning_curves ----------------------------------------------------------


CURVE_COLUMNS: dict[str, float | str | None] = {
    "num_epochs": None,
    "values_source": None,
    "is_median_curve_best_test_loss_epoch": None,
    **{c: (None if c.endswith("_num_finite") else "f32") for c in ref.CURVE_COLUMNS},
}


def test_experiment_learning_curves_values(case: Case) -> None:
    """Rows and values equal the published arrays (or the runs' statistics) at the grid's epochs."""
    actual = keyed(case.rows("select * from marts.experiment_learning_curves"), "experiment_id", "epoch")
    published = {k: r for k, r in case.curves.items() if r["values_source"] == "published_summary"}
    from_runs = {k: r for k, r in case.curves.items() if r["values_source"] == "runs"}
    by_source = {
        source: {k: r for k, r in actual.items() if r["values_source"] == source}
        for source in ("published_summary", "runs")
    }
    assert len(actual) == len(by_source["published_summary"]) + len(by_source["runs"]), "unknown values_source"
    compare(by_source["published_summary"], published, CURVE_COLUMNS,
            f"[{case.spelling}] experiment_learning_curves (published)")
    # statistics computed from the runs: double in the warehouse and in numpy, stored as float32
    compare(by_source["runs"], from_runs,
            {**CURVE_COLUMNS, **{c: F32 for c in ref.CURVE_COLUMNS if not c.endswith("_num_finite")}},
            f"[{case.spelling}] experiment_learning_curves (runs)")
    # the demo exercises the long-curve grid, the runs-only path and non-finite medians
    lengths = {r["experiment_id"]: r["num_epochs"] for r in case.curves.values()}
    assert any(n > ref.MAX_CURVE_POINTS for n in lengths.values()), "no curve longer than the grid"
    assert from_runs, "no experiment with runs but no summary"
    assert any(r["test_loss_median"] is None for r in published.values()), "no non-finite median in the demo"
    quartiles = [r["test_loss_q1"] for r in published.values()]
    assert (case.spelling in ("framework", "current", "mix")) == any(q is not None for q in quartiles), (
        "q1 only in the framework and current spellings"
    )


def test_experiment_learning_curves_grid(case: Case) -> None:
    """The grid rule, checked on the warehouse alone: <= 256 epochs, epoch 1, the last and the best epoch."""
    rows = case.rows(
        "select experiment_id, list(epoch order by epoch) as epochs, any_value(num_epochs) as num_epochs, "
        "list(epoch) filter (where is_median_curve_best_test_loss_epoch) as best "
        "from marts.experiment_learning_curves group by experiment_id"
    )
    summary = keyed(case.rows("select * from marts.experiment_summary"), "experiment_id")
    problems = []
    for row in rows:
        epochs, n, eid = row["epochs"], row["num_epochs"], row["experiment_id"]
        published_best = summary[eid]["median_curve_best_test_loss_epoch"]
        if len(epochs) > ref.MAX_CURVE_POINTS or epochs[0] != 1 or epochs[-1] != n:
            problems.append(f"experiment {eid}: {len(epochs)} epochs from {epochs[0]} to {epochs[-1]} of {n}")
        if n <= ref.MAX_CURVE_POINTS and epochs != list(range(1, n + 1)):
            problems.append(f"experiment {eid}: a short curve must keep every epoch")
        if summary[eid]["has_published_summary"] and (row["best"] or [None]) != [published_best]:
            problems.append(f"experiment {eid}: best epoch {row['best']} vs summary {published_best}")
        if published_best is not None and published_best not in epochs:
            problems.append(f"experiment {eid}: best epoch {published_best} not on the grid")
    assert not problems, "\n".join(problems[:20])
    assert {r["experiment_id"] for r in rows} == {eid for eid, _ in case.curves}


# --- long per-epoch tables ----------------------------------------------------------------


def long_table(case: Case, relation: str, keys: list[str], columns: list[str]) -> dict[str, Any]:
    """{column: its pyarrow ChunkedArray} of a long per-epoch relation in (key, epoch) order."""
    table = case.con.sql(
        f"select {', '.join(keys + ['epoch'] + columns)} from {relation} order by {', '.join(keys)}, epoch"
    ).to_arrow_table()
    return {name: table.column(name) for name in table.column_names}


def expected_long(records: dict, arrays: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Concatenated arrays per column in (key, epoch) order."""
    out: dict[str, list] = {"epoch": []}
    for key in sorted(records):
        row = records[key]
        length = ref.positions(row, arrays)
        out["epoch"].append(np.arange(1, length + 1))
        for name in arrays:
            out.setdefault(name, []).append(np.asarray(row[name], dtype=np.float64))
    return {name: np.concatenate(parts) for name, parts in out.items()}


def test_int_run_epochs(case: Case) -> None:
    metrics = case.data.run_metrics
    assert {"test_loss", "train_loss", "test_accuracy", "train_accuracy"} <= set(metrics)
    columns = case.columns("intermediate.int_run_epochs")
    assert set(columns) == {"run_id", "experiment_id", "epoch", *metrics}, "one column per run metric"
    expected_rows = sum(ref.positions(r, metrics) for r in case.data.runs.values())
    [(count,)] = case.con.execute("select count(*) from intermediate.int_run_epochs").fetchall()
    assert count == expected_rows
    actual = long_table(case, "intermediate.int_run_epochs", ["run_id"], list(metrics))
    expected = expected_long(case.data.runs, metrics)
    assert actual["run_id"].to_pylist() == [
        run_id for run_id in sorted(case.data.runs) for _ in range(ref.positions(case.data.runs[run_id], metrics))
    ]
    for name, values in expected.items():
        # a NULL element stays NULL, read here as NaN (the reference reads it, like NaN, as no value)
        column = actual[name].to_numpy(zero_copy_only=False).astype(np.float64)
        np.testing.assert_array_equal(column, values, err_msg=name)


def test_int_experiment_epochs(case: Case) -> None:
    statistics = case.data.summary_statistics
    assert "test_loss_median" in statistics
    columns = case.columns("intermediate.int_experiment_epochs")
    assert {"experiment_id", "epoch", *statistics} <= set(columns), "one column per summary statistic"
    expected_rows = sum(ref.positions(r, statistics) for r in case.data.summaries.values())
    [(count,)] = case.con.execute("select count(*) from intermediate.int_experiment_epochs").fetchall()
    assert count == expected_rows
    actual = long_table(case, "intermediate.int_experiment_epochs", ["experiment_id"], list(statistics))
    expected = expected_long(case.data.summaries, statistics)
    for name, values in expected.items():
        # a NULL element stays NULL, read here as NaN (the reference reads it, like NaN, as no value)
        column = actual[name].to_numpy(zero_copy_only=False).astype(np.float64)
        np.testing.assert_array_equal(column, values, err_msg=name)


@pytest.mark.parametrize(
    ("view", "array"),
    [("int_runs_deduplicated", "test_loss"), ("int_experiments_deduplicated", "test_loss_median")],
)
def test_deduplicated_views_stream_their_arrays(case: Case, view: str, array: str) -> None:
    """No delim join in the plan: it would buffer every row of a folder, arrays and all, so the
    build's memory would grow with the data (what a correlated NOT EXISTS with an inequality did)."""
    sql = f"select count(*), sum(len({array})) from intermediate.{view}"
    plan = "\n".join(row[1] for row in case.con.execute("explain " + sql).fetchall())
    assert "DELIM" not in plan and "COLUMN_DATA_SCAN" not in plan, plan
    (rows, _), = case.con.execute(sql).fetchall()
    key = "run_id" if view == "int_runs_deduplicated" else "experiment_id"
    assert rows == case.con.execute(f"select count(distinct {key}) from intermediate.{view}").fetchall()[0][0]


# --- traps of the demo manifest -----------------------------------------------------------


def test_every_trap_is_checked(case: Case) -> None:
    expected = CHECKED_TRAPS if case.is_current_layout else CHECKED_TRAPS - CURRENT_LAYOUT_TRAPS
    assert set(case.manifest["traps"]) == expected


def one(case: Case, sql: str) -> dict:
    rows = case.rows(sql)
    assert len(rows) == 1, f"{sql}: {len(rows)} rows"
    return rows[0]


def test_trap_nonfinite_losses(case: Case) -> None:
    trap = case.trap("nonfinite_losses")
    for run in trap["runs"]:
        row = one(case, f"select * from marts.run_best_epochs where run_id = '{run['run_id']}'")
        expected = case.run_best[run["run_id"]]
        bad = set(run["test_loss_nan_epochs"]) | set(run["test_loss_posinf_epochs"])
        assert row["is_diverged"] is True
        assert row["num_finite_test_loss"] == row["num_epochs"] - len(bad)
        assert row["best_test_loss"] is not None and math.isfinite(row["best_test_loss"])
        assert row["best_test_loss_epoch"] not in bad
        assert same(row["best_test_loss"], expected["best_test_loss"], F32)
        assert row["best_test_loss_epoch"] == expected["best_test_loss_epoch"]
        # the last value of a loss that is not finite gives NULL, never NaN or inf
        last = row["num_epochs"]
        train_bad = set(run["train_loss_nan_epochs"]) | set(run["train_loss_posinf_epochs"])
        assert (row["final_test_loss"] is None) == (last in bad)
        assert (row["final_train_loss"] is None) == (last in train_bad)
    assert any(r["num_epochs"] in r_bad for r, r_bad in [
        (case.run_best[run["run_id"]], set(run["test_loss_posinf_epochs"])) for run in trap["runs"]
    ]), "the trap should end a run on a non-finite test loss"
    # the median curve has no finite value at those epochs: best/final of the curve ignore them
    experiment = one(case, f"select * from marts.experiment_summary where experiment_id = {trap['experiment_id']}")
    curve = case.data.summaries[trap["experiment_id"]]["test_loss_median"]
    assert not np.isfinite(curve[[e - 1 for e in trap["all_runs_nonfinite_epochs"]]]).any()
    assert experiment["median_curve_best_test_loss_epoch"] not in trap["all_runs_nonfinite_epochs"]
    assert same(experiment["median_curve_best_test_loss"], float(np.nanmin(curve[np.isfinite(curve)])), F32)


def test_trap_diverged_run(case: Case) -> None:
    trap = case.trap("diverged_run")
    row = one(case, f"select * from marts.run_best_epochs where run_id = '{trap['run_id']}'")
    assert row["experiment_id"] == trap["experiment_id"]
    for column in ("best_test_loss", "best_test_loss_epoch", "best_test_accuracy", "best_test_accuracy_epoch",
                   "final_test_loss", "final_train_loss"):
        assert row[column] is None, column
    assert row["num_finite_test_loss"] == 0 and row["num_epochs"] > 0
    assert row["is_diverged"] is True
    # the run is left out of its experiment's distribution, the others are not
    dist = one(case, f"select * from marts.experiment_best_epochs where experiment_id = {trap['experiment_id']}")
    others = [r for r in case.run_best.values() if r["experiment_id"] == trap["experiment_id"]
              and r["run_id"] != trap["run_id"]]
    assert others and all(r["best_test_loss"] is not None for r in others)
    assert same(dist["best_test_loss_max"], max(r["best_test_loss"] for r in others), F32)
    assert same(dist["best_test_loss_avg"], float(np.mean([r["best_test_loss"] for r in others])), F32)


def test_trap_tied_best_epochs(case: Case) -> None:
    trap = case.trap("tied_best_epochs")
    row = one(case, f"select * from marts.run_best_epochs where run_id = '{trap['run_id']}'")
    run = case.data.runs[trap["run_id"]]
    # the reference sees the ties too (several epochs with the identical value) ...
    loss_epochs = list(np.flatnonzero(run["test_loss"] == run["test_loss"][np.isfinite(run["test_loss"])].min()) + 1)
    assert loss_epochs == trap["test_loss_min_epochs"] and len(loss_epochs) > 1
    accuracy = run["test_accuracy"]
    accuracy_epochs = list(np.flatnonzero(accuracy == accuracy[np.isfinite(accuracy)].max()) + 1)
    assert accuracy_epochs == trap["test_accuracy_max_epochs"] and len(accuracy_epochs) > 1
    # ... and the warehouse picks the earliest
    assert row["best_test_loss_epoch"] == min(loss_epochs)
    assert row["best_test_accuracy_epoch"] == min(accuracy_epochs)
    assert same(row["best_test_loss"], trap["best_test_loss"], F32)
    assert same(row["best_test_accuracy"], trap["best_test_accuracy"], F32)


def test_trap_missing_run(case: Case) -> None:
    trap = case.trap("missing_run")
    eid = trap["experiment_id"]
    assert trap["run_id"] not in case.data.runs
    assert not case.rows(f"select run_id from marts.run_best_epochs where run_id = '{trap['run_id']}'")
    row = one(case, f"select * from marts.experiment_summary where experiment_id = {eid}")
    assert row["num_runs"] == trap["num_runs"] == case.data.summaries[eid]["num_runs"]
    assert row["runs_found"] == trap["runs_exported"] == len(case.data.runs_of(eid))
    assert row["runs_found"] < row["num_runs"]
    assert case.rows(f"select * from audit.source_reconciliation where experiment_id = {eid}")


def test_trap_summary_only_experiment(case: Case) -> None:
    trap = case.trap("summary_only_experiment")
    eid = trap["experiment_id"]
    row = one(case, f"select * from marts.experiment_summary where experiment_id = {eid}")
    assert row["runs_found"] == 0
    assert row["num_runs"] == case.data.summaries[eid]["num_runs"] and row["num_runs"] > 0
    assert row["median_curve_best_test_loss"] is not None
    # experiment_best_epochs has its row: none of the warehouse's own figures, NREL's where published
    best = one(case, f"select * from marts.experiment_best_epochs where experiment_id = {eid}")
    assert best["runs_found"] == 0 and best["best_test_loss_median"] is None and best["has_published_summary"]
    assert best["has_nrel_best_points"] == case.is_current_layout
    ids = ", ".join(f"'{r}'" for r in trap["run_ids"])
    assert not case.rows(f"select * from marts.run_best_epochs where run_id in ({ids})")
    assert case.rows(f"select * from audit.source_reconciliation where experiment_id = {eid}")


def test_trap_run_only_experiment(case: Case) -> None:
    trap = case.trap("run_only_experiment")
    eid = trap["experiment_id"]
    assert eid not in case.data.summaries
    row = one(case, f"select * from marts.experiment_summary where experiment_id = {eid}")
    assert row["num_runs"] is None
    assert row["runs_found"] == len(trap["run_ids"])
    for column in ("median_curve_final_test_loss", "median_curve_best_test_loss", "median_curve_best_test_loss_epoch"):
        assert row[column] is None, column
    # its hyperparameters come from its runs
    compare({eid: row}, {eid: case.experiments[eid]}, SUMMARY_COLUMNS, "run-only experiment")
    assert row["dataset"] is not None and any(row[f] for f in ref.SWEEP_FLAGS)
    dist = one(case, f"select * from marts.experiment_best_epochs where experiment_id = {eid}")
    assert dist["best_test_loss_min"] is not None
    assert case.rows(f"select * from audit.source_reconciliation where experiment_id = {eid}")
    # in its sweep it has no loss: ranked last, no delta
    for r in case.rows(f"select * from marts.sweep_comparisons where experiment_id = {eid}"):
        group = [c for c in case.comparisons.values()
                 if c["sweep"] == r["sweep"] and c["group"] == case.comparisons[(r["sweep"], eid)]["group"]]
        assert r["rank_in_group"] == sum(c["median_curve_best_test_loss"] is not None for c in group) + 1
        assert r["delta_vs_core"] is None


def test_trap_sweep_group_without_core(case: Case) -> None:
    trap = case.trap("sweep_group_without_core")
    for group in trap["groups"]:
        ids = ", ".join(str(i) for i in group["experiment_ids"])
        rows = case.rows(
            f"select * from marts.sweep_comparisons where sweep = '{group['sweep']}' and experiment_id in ({ids})"
        )
        assert len(rows) == len(group["experiment_ids"])
        for row in rows:
            expected = case.comparisons[(group["sweep"], row["experiment_id"])]
            assert not expected["group_has_core_value"], "the reference must see no core in this group"
            assert row["is_core_value"] is False
            assert row["delta_vs_core"] is None
            assert row["median_curve_best_test_loss"] is not None
    # groups of the same sweeps with a core do get deltas
    for group in trap["groups"]:
        with_core = [c for c in case.comparisons.values() if c["sweep"] == group["sweep"]
                     and c["group_has_core_value"] and c["median_curve_best_test_loss"] is not None]
        assert with_core and all(c["delta_vs_core"] is not None for c in with_core)


def test_trap_null_partition(case: Case) -> None:
    trap = case.trap("null_partition")
    assert any(p.is_dir() for p in (case.root / case.runs_folder).rglob(f"*={trap['value']}"))
    unregularized = [e for e in case.experiments.values() if e["kernel_regularizer_type"] is None]
    assert len(unregularized) == trap["num_experiments"]
    [(count,)] = case.con.execute(
        "select count(*) from marts.experiment_summary where kernel_regularizer_type is null"
    ).fetchall()
    assert count == trap["num_experiments"]
    ids = ", ".join(str(i) for i in trap["experiment_ids"])
    rows = case.rows(f"select * from marts.experiment_summary where experiment_id in ({ids})")
    assert len(rows) == len(trap["experiment_ids"]) and all(r["kernel_regularizer_type"] is None for r in rows)
    # NULL keys group together: a learning-rate group of unregularized experiments has its core
    lr_groups = [c for c in case.comparisons.values()
                 if c["sweep"] == "learning_rate" and c["kernel_regularizer_type"] is None and c["group_size"] > 1]
    assert lr_groups and any(c["group_has_core_value"] for c in lr_groups)


def test_trap_regression_and_classification(case: Case) -> None:
    trap = case.trap("regression_and_classification")
    rows = case.rows("select dataset, count(*) as runs, count(best_test_accuracy) as with_accuracy "
                     "from marts.run_best_epochs group by dataset")
    by_dataset = {r["dataset"]: r for r in rows}
    for dataset in trap["regression_datasets"] + trap["classification_datasets"]:
        assert by_dataset[dataset]["runs"] > 0
        # accuracy arrays are carried for regression runs too: best accuracy is computed, not dropped
        assert by_dataset[dataset]["with_accuracy"] > 0


def test_trap_one_run_experiments(case: Case) -> None:
    """A summary of one run: stddev NULL at every epoch, valid data; the other figures are that run's."""
    trap = case.trap("one_run_experiments")
    for eid, run_id in zip(trap["experiment_ids"], trap["run_ids"], strict=True):
        summary = case.data.summaries[eid]
        assert summary["num_runs"] == 1 and np.isnan(summary["test_loss_stddev"]).all()
        row = one(case, f"select * from marts.experiment_summary where experiment_id = {eid}")
        assert (row["num_runs"], row["runs_found"], row["has_published_summary"]) == (1, 1, True)
        run = one(case, f"select * from marts.run_best_epochs where run_id = '{run_id}'")
        assert same(row["median_curve_best_test_loss"], run["best_test_loss"], F32)
        assert row["median_curve_best_test_loss_epoch"] == run["best_test_loss_epoch"]
        curve = case.rows(f"select test_loss_stddev, test_loss_median, test_loss_num_finite "
                          f"from marts.experiment_learning_curves where experiment_id = {eid}")
        assert curve and all(r["test_loss_stddev"] is None for r in curve)
        assert any(r["test_loss_median"] is not None for r in curve)
    assert case.rows("select * from marts.experiment_summary where experiment_id in "
                     f"({', '.join(map(str, trap['experiment_ids']))})")


def test_trap_all_runs_diverged_epochs(case: Case) -> None:
    """Epochs where no run is finite: every statistic NULL there (num_finite 0), never a refusal."""
    trap = case.trap("all_runs_diverged_epochs")
    eid = trap["experiment_id"]
    rows = keyed(case.rows(f"select * from marts.experiment_learning_curves where experiment_id = {eid}"), "epoch")
    stats = [c for c in case.columns("marts.experiment_learning_curves")
             if c.startswith(("test_", "train_")) and not c.endswith("num_finite")]
    on_grid = [e for e in trap["epochs"] if e in rows]
    assert on_grid, (trap["epochs"], sorted(rows))
    for epoch in on_grid:
        assert rows[epoch]["test_loss_num_finite"] == 0
        assert all(rows[epoch][c] is None for c in stats), rows[epoch]
    for epoch in (e for e in trap["single_finite_epochs"] if e in rows):
        assert rows[epoch]["test_loss_num_finite"] == 1
        assert rows[epoch]["test_loss_stddev"] is None
        finite = case.data.runs[trap["finite_run_id"]]["test_loss"][epoch - 1]
        assert same(rows[epoch]["test_loss_median"], float(finite), F32)
    # the last epoch is one of them: no final value of the median curve
    row = one(case, f"select * from marts.experiment_summary where experiment_id = {eid}")
    assert row["median_curve_final_test_loss"] is None
    for run in trap["runs"]:
        best = one(case, f"select * from marts.run_best_epochs where run_id = '{run['run_id']}'")
        assert best["final_test_loss"] is None and best["is_diverged"] is True
        assert best["best_test_loss_epoch"] not in trap["epochs"]


def test_trap_null_element_runs(case: Case) -> None:
    """NULL elements in run arrays count as non-finite, like NaN and +inf, beside them."""
    trap = case.trap("null_element_runs")
    for run in trap["runs"]:
        row = one(case, f"select * from marts.run_best_epochs where run_id = '{run['run_id']}'")
        bad = set(run["test_loss_null_epochs"]) | set(run["test_loss_nan_epochs"]) | set(run["test_loss_posinf_epochs"])
        assert run["test_loss_null_epochs"] or run["train_loss_null_epochs"] or run["test_accuracy_null_epochs"]
        assert row["num_finite_test_loss"] == row["num_epochs"] - len(bad)
        assert row["best_test_loss_epoch"] not in bad
        expected = case.run_best[run["run_id"]]
        for column in ("best_test_loss", "best_test_accuracy", "final_test_loss", "final_train_loss"):
            assert same(row[column], expected[column], F32), column
        for column in ("best_test_loss_epoch", "best_test_accuracy_epoch", "num_finite_test_loss", "is_diverged"):
            assert row[column] == expected[column], column
        if row["num_epochs"] in run["test_loss_null_epochs"]:
            assert row["final_test_loss"] is None
