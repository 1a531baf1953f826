"""The dbt semantic layer (MetricFlow): valid, and equal to plain SQL on the marts.

``dbt parse`` writes ``semantic_manifest.json``; ``mf`` (dbt-metricflow) reads it
from ``<project>/target/``, so each test module gets its own small project folder
(``dbt_project.yml``, ``profiles.yml``, ``target/``) and its own copy of the built
demo warehouse. Then:

* the manifest holds the semantic models, dimensions, metrics and saved queries
  the issue asks for;
* ``mf validate-configs`` passes, warehouse checks included, and fails on a
  warehouse whose mart lacks a column a measure uses;
* every saved query, and ad-hoc metric queries across the entity joins, return
  through ``mf query`` exactly what SQL written here on the marts returns.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from conftest import PROJECT_ROOT, DbtResult, run_dbt

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

MF = Path(sys.executable).with_name("mf")


@dataclass
class MfProject:
    root: Path
    warehouse: Path
    data_root: Path
    manifest: dict

    def mf(self, *args: str, warehouse: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        env.update({
            "DBT_PROJECT_DIR": str(self.root),
            "DBT_PROFILES_DIR": str(self.root),
            "BUTTER_DUCKDB_PATH": str(warehouse or self.warehouse),
            "BUTTER_DATA_ROOT": str(self.data_root),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        })
        return subprocess.run([str(MF), *args], cwd=self.root, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def project(
    built_warehouse: Callable[[str], DbtResult],
    demo_root: Callable[..., Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> MfProject:
    root = tmp_path_factory.mktemp("semantic")
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(PROJECT_ROOT / name, root / name)
    parsed = run_dbt(["parse"], data_root=demo_root("published"), workdir=root)  # -> root/target/
    assert parsed.ok, parsed
    warehouse = root / "butter.duckdb"
    shutil.copy(built_warehouse("published").db_path, warehouse)
    manifest = json.loads((root / "target" / "semantic_manifest.json").read_text())
    return MfProject(root, warehouse, demo_root("published"), manifest)


# --- the manifest -----------------------------------------------------------------------------


def test_semantic_manifest_has_the_models_metrics_and_saved_queries(project: MfProject) -> None:
    models = {m["name"]: m for m in project.manifest["semantic_models"]}
    assert set(models) == {"experiments", "runs", "learning_curves", "sweep_comparisons"}
    marts = {name: m["node_relation"]["schema_name"] for name, m in models.items()}
    assert set(marts.values()) == {"marts"}, marts
    experiment_dims = {d["name"] for d in models["experiments"]["dimensions"]}
    wanted = {"dataset", "shape", "depth", "size", "learning_rate", "batch_size", "label_noise",
              "kernel_regularizer_type", "task_type", "is_primary_sweep", "is_300_epoch_sweep", "is_30k_epoch_sweep",
              "is_learning_rate_sweep", "is_label_noise_sweep", "is_batch_size_sweep", "is_regularization_sweep"}
    assert wanted <= experiment_dims, wanted - experiment_dims
    for name, model in models.items():
        assert model["measures"], name
        entities = {e["name"] for e in model["entities"]}
        assert "experiment" in entities, (name, entities)  # every model joins to the experiment
    metrics = {m["name"] for m in project.manifest["metrics"]}
    assert {"experiments", "experiments_with_median_curve", "runs", "median_curve_best_test_loss_median",
            "diverged_run_share", "median_curve_best_test_loss_epoch_median", "run_best_epoch_median",
            "sweep_median_curve_best_test_loss_median", "sweep_delta_vs_core_median",
            "sweep_delta_vs_core_avg"} <= metrics, metrics
    # the naming rule: a metric is its column plus the statistic over the rows, never the old
    # names that read like the mart column best_test_loss_median (median over an experiment's runs)
    assert not metrics & {"median_best_test_loss", "median_best_epoch", "median_final_test_loss",
                          "sweep_best_test_loss"}, metrics
    saved = {q["name"] for q in project.manifest["saved_queries"]}
    assert {"learning_curves", "loss_vs_parameters", "learning_rate_sweep", "label_noise", "regularization",
            "optimizer_sweep", "sweep_deltas"} <= saved, saved
    assert project.manifest["project_configuration"]["time_spines"], "MetricFlow needs a time spine"


# --- mf validate-configs ----------------------------------------------------------------------


def _validation_counts(output: str) -> list[int]:
    return [int(n) for n in re.findall(r"\(ERRORS: (\d+)", output)]


def test_mf_validate_configs_passes(project: MfProject) -> None:
    proc = project.mf("validate-configs")
    output = proc.stdout + proc.stderr
    print(output[-3000:])
    counts = _validation_counts(output)
    assert proc.returncode == 0, output[-4000:]
    assert len(counts) >= 6 and not any(counts), output[-4000:]  # semantics + 5 warehouse checks
    assert "validated measures against data warehouse" in output


def test_mf_validate_configs_catches_a_missing_column(project: MfProject, tmp_path: Path) -> None:
    broken = tmp_path / "butter.duckdb"
    shutil.copy(project.warehouse, broken)
    con = duckdb.connect(str(broken))
    try:
        con.execute("alter table marts.run_best_epochs drop column best_test_loss_epoch")
        con.execute("checkpoint")
    finally:
        con.close()
    proc = project.mf("validate-configs", warehouse=broken)
    output = proc.stdout + proc.stderr
    assert any(_validation_counts(output)), output[-4000:]


# --- mf query == SQL on the marts -------------------------------------------------------------


def _value(cell: Any) -> Any:
    """One normal form for CSV cells and DuckDB values: None, bool, float or str."""
    if cell is None or cell == "":
        return None
    if isinstance(cell, bool) or cell in ("True", "False"):
        return cell if isinstance(cell, bool) else cell == "True"
    try:
        return float(cell)
    except (TypeError, ValueError):
        return str(cell)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def mf_rows(project: MfProject, tmp_path: Path, *args: str) -> tuple[list[str], list[dict[str, Any]]]:
    out = tmp_path / "result.csv"
    proc = project.mf("query", *args, "--csv", str(out))
    assert proc.returncode == 0 and out.exists(), (proc.stdout + proc.stderr)[-4000:]
    with out.open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = [{k: _value(v) for k, v in row.items()} for row in reader]
        return list(reader.fieldnames or []), rows


def sql_rows(project: MfProject, sql: str) -> list[dict[str, Any]]:
    con = duckdb.connect(str(project.warehouse), read_only=True)
    try:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [{n: _value(v) for n, v in zip(names, row, strict=False)} for row in cursor.fetchall()]
    finally:
        con.close()


def assert_same_rows(columns: list[str], got: list[dict[str, Any]], expected: list[dict[str, Any]],
                     keys: list[str]) -> None:
    assert expected, "the reference SQL returned no rows: the demo data should have them"
    assert set(columns) == set(expected[0]), (columns, list(expected[0]))

    def key(row: dict[str, Any]) -> tuple:
        return tuple((v is None, str(v)) for v in (row[k] for k in keys))

    got_by, expected_by = {key(r): r for r in got}, {key(r): r for r in expected}
    assert len(got_by) == len(got) and len(expected_by) == len(expected), "group keys repeat"
    assert sorted(got_by) == sorted(expected_by), sorted(set(got_by) ^ set(expected_by))[:10]
    wrong = [(k, c, got_by[k][c], expected_by[k][c]) for k in expected_by for c in columns
             if not _same(got_by[k][c], expected_by[k][c])]
    assert not wrong, wrong[:10]


#: saved query -> (group-by columns, the same question in SQL on the marts)
SAVED_QUERY_SQL: dict[str, tuple[list[str], str]] = {
    "learning_curves": (
        ["experiment__dataset", "experiment__shape", "experiment__depth", "experiment__size",
         "learning_curve_point__epoch"],
        """
        select e.dataset as experiment__dataset, e.shape as experiment__shape, e.depth as experiment__depth,
               e.size as experiment__size, lc.epoch as learning_curve_point__epoch,
               quantile_cont(lc.test_loss_median, 0.5) as curve_test_loss_median,
               quantile_cont(lc.test_loss_q1, 0.5) as curve_test_loss_q1,
               quantile_cont(lc.test_loss_q3, 0.5) as curve_test_loss_q3,
               count(lc.test_loss_median) as curve_experiments
        from marts.experiment_learning_curves as lc
        join marts.experiment_summary as e on lc.experiment_id = e.experiment_id
        where e.is_primary_sweep
        group by 1, 2, 3, 4, 5
        """,
    ),
    "loss_vs_parameters": (
        ["experiment__dataset", "experiment__shape", "experiment__depth", "experiment__num_free_parameters"],
        """
        select dataset as experiment__dataset, shape as experiment__shape, depth as experiment__depth,
               num_free_parameters as experiment__num_free_parameters,
               quantile_cont(median_curve_best_test_loss, 0.5) as median_curve_best_test_loss_median,
               count(median_curve_best_test_loss) as experiments_with_median_curve
        from marts.experiment_summary
        where is_primary_sweep
        group by 1, 2, 3, 4
        """,
    ),
    "learning_rate_sweep": (
        ["experiment__dataset", "experiment__shape", "experiment__learning_rate"],
        """
        select e.dataset as experiment__dataset, e.shape as experiment__shape,
               e.learning_rate as experiment__learning_rate,
               quantile_cont(c.median_curve_best_test_loss, 0.5) as sweep_median_curve_best_test_loss_median,
               count(c.median_curve_best_test_loss) as sweep_experiments_with_median_curve,
               avg(c.rank_in_group) as sweep_rank_in_group_avg
        from marts.sweep_comparisons as c
        join marts.experiment_summary as e on c.experiment_id = e.experiment_id
        where c.sweep = 'learning_rate' and c.group_is_complete
        group by 1, 2, 3
        """,
    ),
    "label_noise": (
        ["experiment__dataset", "experiment__shape", "experiment__learning_rate", "experiment__label_noise"],
        """
        with experiments as (
            select dataset as experiment__dataset, shape as experiment__shape,
                   learning_rate as experiment__learning_rate, label_noise as experiment__label_noise,
                   count(median_curve_best_test_loss) as experiments_with_median_curve,
                   quantile_cont(median_curve_best_test_loss, 0.5) as median_curve_best_test_loss_median,
                   quantile_cont(median_curve_best_test_loss_epoch, 0.5) as median_curve_best_test_loss_epoch_median
            from marts.experiment_summary
            where is_label_noise_sweep
            group by 1, 2, 3, 4
        ), runs as (
            select e.dataset as experiment__dataset, e.shape as experiment__shape,
                   e.learning_rate as experiment__learning_rate, e.label_noise as experiment__label_noise,
                   count(r.run_id) as runs, quantile_cont(r.best_test_loss_epoch, 0.5) as run_best_epoch_median
            from marts.run_best_epochs as r
            join marts.experiment_summary as e on r.experiment_id = e.experiment_id
            where e.is_label_noise_sweep
            group by 1, 2, 3, 4
        )
        select experiments.*, runs.runs, runs.run_best_epoch_median
        from experiments left join runs
          on experiments.experiment__dataset is not distinct from runs.experiment__dataset
         and experiments.experiment__shape is not distinct from runs.experiment__shape
         and experiments.experiment__learning_rate is not distinct from runs.experiment__learning_rate
         and experiments.experiment__label_noise is not distinct from runs.experiment__label_noise
        """,
    ),
    "regularization": (
        ["experiment__dataset", "experiment__shape", "experiment__kernel_regularizer_type",
         "experiment__kernel_regularizer_l1", "experiment__kernel_regularizer_l2", "sweep_comparison__is_core_value"],
        """
        select e.dataset as experiment__dataset, e.shape as experiment__shape,
               e.kernel_regularizer_type as experiment__kernel_regularizer_type,
               e.kernel_regularizer_l1 as experiment__kernel_regularizer_l1,
               e.kernel_regularizer_l2 as experiment__kernel_regularizer_l2,
               c.is_core_value as sweep_comparison__is_core_value,
               quantile_cont(c.median_curve_best_test_loss, 0.5) as sweep_median_curve_best_test_loss_median,
               count(c.median_curve_best_test_loss) as sweep_experiments_with_median_curve,
               quantile_cont(c.delta_vs_core, 0.5) as sweep_delta_vs_core_median
        from marts.sweep_comparisons as c
        join marts.experiment_summary as e on c.experiment_id = e.experiment_id
        where c.sweep = 'regularization' and c.group_is_complete
        group by 1, 2, 3, 4, 5, 6
        """,
    ),
    "sweep_deltas": (
        ["sweep_comparison__sweep", "sweep_comparison__swept_value"],
        """
        select sweep as sweep_comparison__sweep, swept_value as sweep_comparison__swept_value,
               count(experiment_id) as sweep_experiments,
               quantile_cont(delta_vs_core, 0.5) as sweep_delta_vs_core_median,
               avg(delta_vs_core) as sweep_delta_vs_core_avg
        from marts.sweep_comparisons
        where group_is_complete
        group by 1, 2
        """,
    ),
    "run_health": (
        ["experiment__dataset"],
        """
        select e.dataset as experiment__dataset, count(r.run_id) as runs,
               count(r.run_id) filter (where r.is_diverged) as diverged_runs,
               (count(r.run_id) filter (where r.is_diverged))::double / count(r.run_id) as diverged_run_share,
               quantile_cont(r.best_test_loss_epoch, 0.5) as run_best_epoch_median
        from marts.run_best_epochs as r
        left join marts.experiment_summary as e on r.experiment_id = e.experiment_id
        group by 1
        """,
    ),
}


@pytest.mark.parametrize("name", sorted(SAVED_QUERY_SQL))
def test_saved_query_equals_sql(project: MfProject, tmp_path: Path, name: str) -> None:
    keys, sql = SAVED_QUERY_SQL[name]
    columns, got = mf_rows(project, tmp_path, "--saved-query", name)
    expected = sql_rows(project, sql)
    print(f"\n{name}: {len(got)} rows, e.g. {got[:2]}")
    assert_same_rows(columns, got, expected, keys)
    assert_over_complete_groups(project, name, got)


# --- comparisons across swept values: over complete groups, with n -----------------------------


def _dimension(text: str) -> str:
    """``Dimension('experiment__dataset')`` -> ``experiment__dataset``."""
    found = re.fullmatch(r"Dimension\('([a-z0-9_]+)'\)", text)
    assert found, text
    return found.group(1)


def swept_dimensions() -> dict[str, set[str]]:
    """Sweep -> the dimensions that hold its swept value: ``sweep_comparison__swept_value``, and the
    experiment's own columns of the swept parameter (``seeds/butter_sweeps.csv``)."""
    columns = {"size": ["size", "num_free_parameters"],
               "kernel_regularizer": ["kernel_regularizer_type", "kernel_regularizer_l1", "kernel_regularizer_l2"]}
    with (PROJECT_ROOT / "seeds" / "butter_sweeps.csv").open(newline="") as handle:
        return {row["sweep"]: {"sweep_comparison__swept_value", "sweep_comparison__swept_value_numeric",
                               "sweep_comparison__is_core_value",
                               *(f"experiment__{c}" for c in columns.get(row["swept_parameter"],
                                                                           [row["swept_parameter"]]))}
                for row in csv.DictReader(handle)}


@dataclass
class Comparison:
    """A saved query comparing swept values: what it groups by, its n, where its measures live."""

    swept: list[str]  # the group-by dimensions holding a swept value
    others: list[str]  # the rest of the group-by: a partition compares its swept values
    n_metrics: list[str]  # count metrics: the rows (experiments) behind each value
    over_sweep_comparisons: bool
    sweeps: list[str] | None  # the sweeps its filter keeps (None: every sweep)
    filters: list[str]


def comparisons(manifest: dict) -> dict[str, Comparison]:
    """Every saved query that groups by a swept value, read from the semantic manifest."""
    measure_model = {m["name"]: (model["name"], m["agg"]) for model in manifest["semantic_models"]
                     for m in model["measures"]}
    metric_measures = {m["name"]: [i["name"] for i in m["type_params"]["input_measures"]]
                       for m in manifest["metrics"]}
    by_sweep = swept_dimensions()
    found = {}
    for query in manifest["saved_queries"]:
        params = query["query_params"]
        group_by = [_dimension(g) for g in params["group_by"]]
        filters = [f["where_sql_template"] for f in (params.get("where") or {}).get("where_filters") or []]
        sweeps = [s for f in filters for s in re.findall(r"sweep_comparison__sweep'\) }} = '([a-z0-9_]+)'", f)]
        # the swept values of the sweeps it keeps (a learning rate is swept in its sweep, a group key in others')
        swept_dims = set().union(*(by_sweep[s] for s in (sweeps or by_sweep)))
        swept = [g for g in group_by if g in swept_dims]
        if not swept:
            continue
        measures = [m for metric in params["metrics"] for m in metric_measures[metric]]
        found[query["name"]] = Comparison(
            swept=swept, others=[g for g in group_by if g not in swept],
            n_metrics=[metric for metric in params["metrics"]
                       if all(measure_model[m][1] == "count" for m in metric_measures[metric])],
            over_sweep_comparisons=any(measure_model[m][0] == "sweep_comparisons" for m in measures),
            sweeps=sweeps or None, filters=filters,
        )
    return found


def test_every_comparison_shows_n_and_compares_complete_groups(project: MfProject) -> None:
    """A saved query comparing swept values says how many experiments are behind each value, and,
    over marts.sweep_comparisons, compares complete groups only (every swept value present): each
    of them is then checked on the data by assert_over_complete_groups."""
    found = comparisons(project.manifest)
    assert {"learning_rate_sweep", "regularization", "optimizer_sweep", "sweep_deltas"} <= set(found), found
    for name, comparison in found.items():
        assert comparison.n_metrics, f"saved query {name} compares {comparison.swept} without an n (a count metric)"
        if comparison.over_sweep_comparisons:
            assert any("sweep_comparison__group_is_complete" in f for f in comparison.filters), (
                f"saved query {name} compares swept values over incomplete groups: filter on "
                "sweep_comparison__group_is_complete")
            assert name in SAVED_QUERY_SQL or name == "optimizer_sweep", f"{name}: no data check"


def complete_group_counts(project: MfProject, comparison: Comparison) -> dict[tuple, int]:
    """Partition (the comparison's other group-by values) -> the comparison groups in it that hold every
    swept value of their sweep with a loss: computed here from the definition, not read from
    group_is_complete."""
    columns = [g.split("__", 1)[1] for g in comparison.others]
    sweeps = "" if comparison.sweeps is None else "where sweep in ({})".format(
        ", ".join(f"'{s}'" for s in comparison.sweeps))
    rows = sql_rows(project, f"""
        with sweep_values as (
            select sweep, count(distinct swept_value) as num_values from marts.sweep_comparisons group by 1
        ), complete as (
            select c.sweep, c.comparison_group_id
            from marts.sweep_comparisons as c join sweep_values as v on c.sweep = v.sweep
            group by c.sweep, c.comparison_group_id, v.num_values
            having count(distinct c.swept_value) filter (where c.median_curve_best_test_loss is not null)
                = v.num_values
        ), groups as (
            select distinct sweep, comparison_group_id{"".join(f", {c}" for c in columns)}
            from marts.sweep_comparisons {sweeps}
        )
        select {"".join(f"groups.{c}, " for c in columns)}count(*) as num_groups
        from groups
        join complete on groups.sweep = complete.sweep and groups.comparison_group_id = complete.comparison_group_id
        group by all
    """)
    return {tuple((row[c] is None, str(row[c])) for c in columns): int(row["num_groups"]) for row in rows}


def assert_over_complete_groups(project: MfProject, name: str, rows: list[dict[str, Any]]) -> None:
    """If saved query ``name`` compares swept values over marts.sweep_comparisons: each of its rows
    is over every complete group of its partition, the same groups for every swept value (so n is
    the number of those groups)."""
    comparison = comparisons(project.manifest).get(name)
    if comparison is None or not comparison.over_sweep_comparisons:
        return
    expected = complete_group_counts(project, comparison)
    assert expected, f"{name}: the demo should hold complete comparison groups"
    values: dict[tuple, set] = {}
    for row in rows:
        partition = tuple((row[g] is None, str(row[g])) for g in comparison.others)
        values.setdefault(partition, set()).add(tuple(str(row[g]) for g in comparison.swept))
        for metric in comparison.n_metrics:
            assert row[metric] == expected.get(partition), (
                f"{name} compares a swept value over other than the complete groups of its partition",
                partition, {g: row[g] for g in comparison.swept}, metric, row[metric], expected.get(partition))
    assert set(values) == set(expected), sorted(set(values) ^ set(expected))[:5]
    assert any(len(v) > 1 for v in values.values()), f"{name}: no partition compares two swept values"


#: the optimizer sweep's saved query in SQL: the current release's layout publishes the sweep
OPTIMIZER_SWEEP_SQL = (
    ["experiment__dataset", "sweep_comparison__swept_value", "experiment__learning_rate"],
    """
    select e.dataset as experiment__dataset, c.swept_value as sweep_comparison__swept_value,
           e.learning_rate as experiment__learning_rate,
           quantile_cont(c.median_curve_best_test_loss, 0.5) as sweep_median_curve_best_test_loss_median,
           count(c.median_curve_best_test_loss) as sweep_experiments_with_median_curve,
           avg(c.rank_in_group) as sweep_rank_in_group_avg
    from marts.sweep_comparisons as c
    join marts.experiment_summary as e on c.experiment_id = e.experiment_id
    where c.sweep = 'optimizer' and c.group_is_complete
    group by 1, 2, 3
    """,
)


def test_optimizer_saved_query_equals_sql_on_the_current_layout(
    project: MfProject, built_warehouse: Callable[[str], DbtResult], tmp_path: Path,
) -> None:
    """The saved query behind figure 7, on the demo of the current release's layout (the template
    layout has no optimizer sweep): every optimizer, adam (the core) among them, as the SQL."""
    warehouse = tmp_path / "current" / "butter.duckdb"  # the catalog the manifest names: butter
    warehouse.parent.mkdir()
    shutil.copy(built_warehouse("current").db_path, warehouse)
    current = dataclasses.replace(project, warehouse=warehouse)
    keys, sql = OPTIMIZER_SWEEP_SQL
    columns, got = mf_rows(current, tmp_path, "--saved-query", "optimizer_sweep")
    expected = sql_rows(current, sql)
    assert_same_rows(columns, got, expected, keys)
    assert_over_complete_groups(current, "optimizer_sweep", got)
    optimizers = {row["sweep_comparison__swept_value"] for row in got}
    assert "adam" in optimizers and len(optimizers) >= 3, optimizers


def test_experiment_metrics_by_dimension_equal_sql(project: MfProject, tmp_path: Path) -> None:
    keys = ["experiment__task_type", "experiment__batch_size", "experiment__is_regularization_sweep"]
    columns, got = mf_rows(project, tmp_path, "--metrics",
                           "experiments,runs_published,median_curve_best_test_loss_median,"
                           "median_curve_final_test_loss_median",
                           "--group-by", ",".join(keys))
    expected = sql_rows(project, """
        select task_type as experiment__task_type, batch_size as experiment__batch_size,
               is_regularization_sweep as experiment__is_regularization_sweep,
               count(experiment_id) as experiments, sum(num_runs) as runs_published,
               quantile_cont(median_curve_best_test_loss, 0.5) as median_curve_best_test_loss_median,
               quantile_cont(median_curve_final_test_loss, 0.5) as median_curve_final_test_loss_median
        from marts.experiment_summary
        group by 1, 2, 3
    """)
    assert_same_rows(columns, got, expected, keys)


def test_run_metrics_across_the_experiment_join_equal_sql(project: MfProject, tmp_path: Path) -> None:
    keys = ["experiment__shape", "run__is_diverged"]
    columns, got = mf_rows(project, tmp_path, "--metrics", "runs,run_best_test_loss_median",
                           "--group-by", ",".join(keys),
                           "--where", "{{ Dimension('experiment__is_primary_sweep') }}")
    expected = sql_rows(project, """
        select e.shape as experiment__shape, r.is_diverged as run__is_diverged, count(r.run_id) as runs,
               quantile_cont(r.best_test_loss, 0.5) as run_best_test_loss_median
        from marts.run_best_epochs as r
        join marts.experiment_summary as e on r.experiment_id = e.experiment_id
        where e.is_primary_sweep
        group by 1, 2
    """)
    assert_same_rows(columns, got, expected, keys)
