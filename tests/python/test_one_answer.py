"""One answer per question, whatever the path: mart SQL (the README's example), MetricFlow
metrics and saved queries, the figure's JSON and the compiled analysis agree to the digit
on the demo.

Questions:

* which learning rate gives the lowest test loss, per dataset and shape (complete
  comparison groups of the learning-rate sweep): median over rows of the median curve's
  best test loss, the rows it is over, the average rank in group;
* does label noise move the best test loss and its epoch, per dataset, shape, learning
  rate and noise level: medians over experiments of the median curve's best loss and of
  its epoch, the experiments they are over, and the median over runs of each run's best
  epoch.

The compiled analyses run on a copy of the warehouse under another file name (they name
no catalog).
"""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from test_semantic import MfProject, mf_rows

from conftest import PROJECT_ROOT, DbtResult, run_dbt

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def paths(
    built_warehouse: Callable[[str], DbtResult],
    demo_root: Callable[..., Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """One dbt compile of the analyses (its target/ also holds the semantic manifest for mf),
    the warehouse under two names, and the figures drawn from it."""
    from butter_warehouse import figures

    root = tmp_path_factory.mktemp("one-answer")
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(PROJECT_ROOT / name, root / name)
    compiled = run_dbt(["compile", "--select", "resource_type:analysis"], data_root=demo_root("published"),
                       workdir=root)
    assert compiled.ok, compiled
    warehouse = root / "butter.duckdb"
    shutil.copy(built_warehouse("published").db_path, warehouse)
    renamed = root / "another name.duckdb"
    shutil.copy(warehouse, renamed)
    out = root / "figures"
    status = figures.render(warehouse, out, log=lambda line: None, project_root=root)
    # the template layout has no optimizer sweep: that figure is a note saying so, the others are drawn
    assert status.pop("optimizer_sweep") != "written", status
    assert all(value == "written" for value in status.values()), status
    analyses = {p.stem: p.read_text() for p in (root / "target" / "compiled" / "butter" / "analyses").glob("*.sql")}
    assert {"best_learning_rate_by_dataset_and_shape", "label_noise_and_best_epoch"} <= set(analyses), analyses
    manifest = json.loads((demo_root("published") / "_demo_manifest.json").read_text())
    return {"mf": MfProject(root, warehouse, demo_root("published"), {}), "warehouse": warehouse,
            "renamed": renamed, "figures": out, "analyses": analyses, "manifest": manifest, "project": root}


def _sql(path: Path, sql: str) -> list[dict[str, Any]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def _num(value: Any) -> Any:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _key(*values: Any) -> tuple:
    return tuple(None if v is None or v == "" else (f"{float(v):.9g}" if isinstance(_num(v), float) else str(v))
                 for v in values)


def _agree(name: str, answers: dict[str, dict[tuple, Any]]) -> None:
    """Every path gives the same value for every key the reference (first path) has."""
    (ref_name, reference), *others = answers.items()
    assert reference, f"{name}: {ref_name} returned nothing on the demo"
    for other_name, other in others:
        assert other, f"{name}: {other_name} returned nothing"
        missing = sorted(set(other) - set(reference))
        assert not missing, (name, other_name, "keys the reference lacks", missing[:5])
        wrong = [(k, other[k], reference[k]) for k in other
                 if not (other[k] is None and reference[k] is None)
                 and (other[k] is None or reference[k] is None
                      or not math.isclose(float(other[k]), float(reference[k]), rel_tol=1e-9, abs_tol=1e-12))]
        assert not wrong, (name, other_name, wrong[:5])


def _readme_sql() -> str:
    """The README's first example query (a ```sql block on marts.sweep_comparisons)."""
    blocks = re.findall(r"```sql\n(.*?)```", (PROJECT_ROOT / "README.md").read_text(), re.S)
    found = [b for b in blocks if "marts.sweep_comparisons" in b]
    assert found, "the README shows no example query on marts.sweep_comparisons"
    return found[0]


def _figure_points(out: Path, name: str, panel_index: int) -> list[tuple[str, float, float, int]]:
    panel = json.loads((out / f"{name}.json").read_text())["panels"][panel_index]
    return [(s["label"], x, y, n) for s in panel["series"] for x, y, n in zip(s["x"], s["y"], s["n"], strict=True)]


# --- which learning rate: complete comparison groups ------------------------------------------


def test_learning_rate_question_has_one_answer(paths: dict[str, Any], tmp_path: Path) -> None:
    readme = _sql(paths["warehouse"], _readme_sql())
    assert {"dataset", "shape", "learning_rate", "median_curve_best_test_loss_median", "rank_in_group_avg",
            "experiments_with_median_curve"} <= set(readme[0]), list(readme[0])
    analysis = _sql(paths["renamed"], paths["analyses"]["best_learning_rate_by_dataset_and_shape"])
    _, saved = mf_rows(paths["mf"], tmp_path, "--saved-query", "learning_rate_sweep")
    mart = _sql(paths["warehouse"], """
        select dataset, shape, learning_rate, quantile_cont(median_curve_best_test_loss, 0.5) as loss,
               avg(rank_in_group) as rank, count(median_curve_best_test_loss) as n
        from marts.sweep_comparisons
        where sweep = 'learning_rate' and comparison_group_id in (
            select comparison_group_id from marts.sweep_comparisons where sweep = 'learning_rate'
            group by 1
            having count(distinct learning_rate) filter (where median_curve_best_test_loss is not null)
                = (select count(distinct learning_rate) from marts.sweep_comparisons where sweep = 'learning_rate'))
        group by all
    """)  # completeness computed here from its definition, not read from group_is_complete
    figure = _figure_points(paths["figures"], "learning_rate_sweep", 0)
    dataset = json.loads((paths["figures"] / "learning_rate_sweep.json").read_text())["choice"]["dataset"]
    for statistic, mart_col, readme_col, analysis_col, mf_col, figure_pos in (
        ("median loss", "loss", "median_curve_best_test_loss_median", "median_curve_best_test_loss_median",
         "sweep_median_curve_best_test_loss_median", 2),
        ("rows", "n", "experiments_with_median_curve", "experiments_with_median_curve",
         "sweep_experiments_with_median_curve", 3),
        ("average rank", "rank", "rank_in_group_avg", "rank_in_group_avg", "sweep_rank_in_group_avg", None),
    ):
        answers = {
            "mart SQL": {_key(r["dataset"], r["shape"], r["learning_rate"]): r[mart_col] for r in mart},
            "README example": {_key(r["dataset"], r["shape"], r["learning_rate"]): r[readme_col] for r in readme},
            "analysis": {_key(r["dataset"], r["shape"], r["learning_rate"]): r[analysis_col] for r in analysis},
            "saved query": {_key(r["experiment__dataset"], r["experiment__shape"], r["experiment__learning_rate"]):
                            r[mf_col] for r in saved},
        }
        if figure_pos is not None:
            answers["figure"] = {_key(dataset, p[0], p[1]): p[figure_pos] for p in figure}
        _agree(f"learning rate: {statistic}", answers)
    # and every path holds every key of the mart (the figure: its dataset's)
    keys = {_key(r["dataset"], r["shape"], r["learning_rate"]) for r in mart}
    assert {_key(r["dataset"], r["shape"], r["learning_rate"]) for r in analysis} == keys
    assert {_key(r["dataset"], r["shape"], r["learning_rate"]) for r in readme} == keys
    assert {k for k in keys if k[0] == dataset} == {_key(dataset, p[0], p[1]) for p in figure}


# --- does label noise move the best epoch -----------------------------------------------------


def test_label_noise_question_has_one_answer(paths: dict[str, Any], tmp_path: Path) -> None:
    group = ["experiment__dataset", "experiment__shape", "experiment__learning_rate", "experiment__label_noise"]
    mart = _sql(paths["warehouse"], """
        select dataset, shape, learning_rate, label_noise,
               count(median_curve_best_test_loss) as n,
               quantile_cont(median_curve_best_test_loss, 0.5) as loss,
               quantile_cont(median_curve_best_test_loss_epoch, 0.5) as epoch
        from marts.experiment_summary where is_label_noise_sweep group by all
    """)
    runs = _sql(paths["warehouse"], """
        select e.dataset, e.shape, e.learning_rate, e.label_noise, count(*) as runs,
               quantile_cont(r.best_test_loss_epoch, 0.5) as run_epoch
        from marts.run_best_epochs as r join marts.experiment_summary as e on r.experiment_id = e.experiment_id
        where e.is_label_noise_sweep group by all
    """)
    analysis = _sql(paths["renamed"], paths["analyses"]["label_noise_and_best_epoch"])
    _, saved = mf_rows(paths["mf"], tmp_path, "--saved-query", "label_noise")
    _, metric = mf_rows(paths["mf"], tmp_path, "--metrics",
                        "median_curve_best_test_loss_epoch_median,median_curve_best_test_loss_median,"
                        "experiments_with_median_curve", "--group-by", ",".join(group),
                        "--where", "{{ Dimension('experiment__is_label_noise_sweep') }}")
    choice = json.loads((paths["figures"] / "label_noise.json").read_text())["choice"]
    loss_points = _figure_points(paths["figures"], "label_noise", 0)
    epoch_points = _figure_points(paths["figures"], "label_noise", 1)

    def by_key(rows: list[dict[str, Any]], column: str, names: list[str]) -> dict[tuple, Any]:
        return {_key(*(r[n] for n in names)): r[column] for r in rows}

    plain = ["dataset", "shape", "learning_rate", "label_noise"]
    for statistic, mart_col, column, figure_points, figure_pos in (
        ("epoch where the median curve is lowest", "epoch", "median_curve_best_test_loss_epoch_median",
         epoch_points, 2),
        ("median curve's best loss", "loss", "median_curve_best_test_loss_median", loss_points, 2),
        ("experiments the medians are over", "n", "experiments_with_median_curve", loss_points, 3),
    ):
        answers = {
            "mart SQL": by_key([r for r in mart if r["n"]], mart_col, plain),
            "analysis": by_key([r for r in analysis if r["experiments_with_median_curve"]], column, plain),
            "saved query": by_key([r for r in saved if _num(r["experiments_with_median_curve"])], column, group),
            "metric": by_key([r for r in metric if _num(r["experiments_with_median_curve"])], column, group),
            "figure": {_key(choice["dataset"], choice["shape"], p[0], p[1]): p[figure_pos] for p in figure_points},
        }
        _agree(f"label noise: {statistic}", answers)
    _agree("label noise: median over runs of each run's best epoch", {
        "mart SQL": by_key(runs, "run_epoch", plain),
        "analysis": by_key([r for r in analysis if r["runs"]], "run_best_epoch_median", plain),
        "saved query": by_key([r for r in saved if _num(r["runs"])], "run_best_epoch_median", group),
    })
    # the two statistics of "when" are offered side by side and are not the same numbers on the demo
    differ = [r for r in analysis if r["run_best_epoch_median"] is not None
              and r["median_curve_best_test_loss_epoch_median"] is not None
              and r["run_best_epoch_median"] != r["median_curve_best_test_loss_epoch_median"]]
    assert differ, "on the demo the median curve's best epoch and the runs' median best epoch differ somewhere"


# --- the analyses' ids are the marts' ---------------------------------------------------------


def test_analyses_return_ids_of_the_marts_type(paths: dict[str, Any]) -> None:
    """An analysis returning experiment_id / run_id gives it the type the marts give it (BIGINT /
    the marts' run_id type), so its rows join to the marts without a cast."""
    con = duckdb.connect(str(paths["warehouse"]), read_only=True)  # its per-epoch views name the catalog
    try:
        mart_types = dict(con.execute("""
            select column_name, any_value(data_type) from information_schema.columns
            where table_schema = 'marts' and column_name in ('experiment_id', 'run_id') group by 1
        """).fetchall())
        checked = 0
        for name, sql in sorted(paths["analyses"].items()):
            for column, column_type, *_ in con.execute(f"describe ({sql})").fetchall():
                if column in mart_types:
                    assert column_type == mart_types[column], (name, column, column_type, mart_types[column])
                    checked += 1
    finally:
        con.close()
    assert checked, "epochwise_double_descent returns experiment_id"


# --- double descent: found where the demo planted it, by the analysis and the figure -------------


def test_double_descent_is_found_where_the_demo_planted_it(paths: dict[str, Any]) -> None:
    """The analysis finds epoch-wise double descent in exactly the experiments the generator
    gave a bump (the manifest's double_descent_experiment_ids): not in a loss spike or a noisy
    stretch, and in every bump. The figure's rule, on the curves' grid (every epoch of these
    short curves), finds the same primary-sweep experiments."""
    from butter_warehouse import figures

    planted = paths["manifest"]["design"]["double_descent_experiment_ids"]
    assert len(planted) >= 2, planted
    con = duckdb.connect(str(paths["warehouse"]), read_only=True)  # its per-epoch views name the catalog
    try:
        found = [r[0] for r in con.execute(
            f"select experiment_id from ({paths['analyses']['epochwise_double_descent']})").fetchall()]
        on_grid = {r[0] for r in con.execute(
            f"select experiment_id from ({figures.DoubleDescentRule.of_project(paths['project']).sql()})").fetchall()}
        primary = {r[0] for r in con.execute(
            "select experiment_id from marts.experiment_summary where is_primary_sweep").fetchall()}
    finally:
        con.close()
    assert sorted(found) == sorted(planted)
    assert on_grid == set(found) & primary and on_grid, (on_grid, found)


def _curves() -> dict[int, list[float]]:
    """Hand-made median test-loss curves: {experiment_id: loss per epoch from 1}."""
    import numpy as np

    rng = np.random.default_rng(0)
    t = np.arange(1, 3001) / 3000
    decay = 0.4 + 0.8 * np.exp(-4 * t)
    bump = np.exp(-0.5 * ((t - 0.6) / 0.07) ** 2)
    release = 1 / (1 + np.exp(-(t - 0.67) * 3 / 0.07))
    spike = decay.copy()
    spike[1499] *= 2.0  # one epoch at twice the loss, then on as before
    short = 0.5 + 0.5 * np.exp(-np.arange(1, 31) / 5)
    short[14:18] *= 1.3  # a bump of four epochs on a 30-epoch curve (not smoothed: under 200 epochs)
    short[25:] *= 0.8
    return {
        1: list(decay * (1 + 0.15 * (1 - release)) * (1 + 0.4 * bump)),  # plateau, bump, lower again
        2: list(spike),
        3: list((1.0 - 0.1 * t) * np.exp(0.03 * rng.standard_normal(3000))),  # slow, noisy descent
        4: list(short),
    }


def test_the_double_descent_rule_on_hand_made_curves(paths: dict[str, Any]) -> None:
    """The analysis and the figure's rule (on a grid of every epoch) find the bump held over
    epochs, on a 3000-epoch and on a 30-epoch curve, and neither a one-epoch spike nor a noisy
    descent, which the rule without smoothing or a held rise would take for one."""
    from butter_warehouse import figures

    curves = _curves()
    con = duckdb.connect()
    try:
        con.execute("create schema intermediate; create schema marts")
        con.execute("create table intermediate.int_experiment_epochs "
                    "(experiment_id bigint, epoch integer, test_loss_median float)")
        con.executemany("insert into intermediate.int_experiment_epochs values (?, ?, ?)",
                        [(e, i + 1, v) for e, values in curves.items() for i, v in enumerate(values)])
        con.execute("create view marts.experiment_learning_curves as select * from intermediate.int_experiment_epochs")
        con.execute("""create table marts.experiment_summary as select experiment_id, 'd' as dataset,
            'rectangle' as shape, 2 as depth, 4096 as size, 0.0001 as learning_rate, 256 as batch_size,
            0.0 as label_noise, null::varchar as kernel_regularizer_type, null::double as kernel_regularizer_l1,
            null::double as kernel_regularizer_l2, max(epoch) as epochs, true as is_primary_sweep
            from intermediate.int_experiment_epochs group by experiment_id""")
        found = {r[0] for r in con.execute(
            f"select experiment_id from ({paths['analyses']['epochwise_double_descent']})").fetchall()}
        on_grid = {r[3] for r in con.execute(figures.DoubleDescentRule.of_project(paths["project"]).sql()).fetchall()}
        naive = {r[0] for r in con.execute("""
            with c as (select *, min(test_loss_median) over (partition by experiment_id order by epoch) as m
                       from intermediate.int_experiment_epochs),
            r as (select experiment_id, min(epoch) as e from c where test_loss_median > m * 1.1 group by 1)
            select r.experiment_id from r join c using (experiment_id) group by r.experiment_id, r.e
            having min(test_loss_median) filter (where epoch >= r.e) < min(test_loss_median) filter (where epoch < r.e)
        """).fetchall()}
    finally:
        con.close()
    assert found == on_grid == {1, 4}, (found, on_grid)
    assert {2, 3} <= naive, naive  # what smoothing and the held rise keep out


# --- what a new user meets: the demo build's warnings, as the README names them ---------------


@pytest.mark.parametrize("spelling", ["published", "current"])
def test_readme_names_the_demo_builds_warnings(built_warehouse: Callable[[str], DbtResult], spelling: str) -> None:
    """The README gives the demo build's warning count (the planted traps), for the default demo
    and for `--layout current`: it is the count the build prints."""
    readme = " ".join((PROJECT_ROOT / "README.md").read_text().split())
    built = re.findall(r"Done\. PASS=\d+ WARN=(\d+) ERROR=0", built_warehouse(spelling).output)
    assert built, built_warehouse(spelling).output[-2000:]
    said = re.findall(r"`WARN=(\d+)`" + (r" with `--layout current`" if spelling == "current" else ";"), readme)
    assert said == [built[-1]], (spelling, said, built[-1])
