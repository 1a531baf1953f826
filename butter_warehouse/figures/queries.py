"""The figures' data: the SQL reading the published marts and each figure's slice.

Each builder (``builders``) reads a read-only connection to the published
warehouse and returns a ``model.Figure`` (its panels and points), or raises
``FigureSkipped`` saying which data is absent. A figure's slice is where its sweep
has the most experiments, within the options given (``pick_slice``). The
double-descent map uses the rule of ``analyses/epochwise_double_descent.sql``
with the same dbt vars (``DoubleDescentRule``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from .. import project
from .model import Choice, Figure, FigureSkipped, Panel, Series, fmt as _fmt, size_label as _size_label


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    return con.execute(sql, list(params)).fetchall()


def has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(_rows(con, "select 1 from information_schema.tables where table_schema = ? and table_name = ?",
                      [schema, table]))


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in _rows(con, "select column_name from information_schema.columns "
                                     "where table_schema = 'marts' and table_name = ?", [table])}


def _require(con: duckdb.DuckDBPyConnection, table: str) -> None:
    if not has_table(con, "marts", table):
        raise FigureSkipped(f"marts.{table} is not in the warehouse (rebuild it with `make build`)")


#: tie order among slices with as many experiments: the study's core datasets, shapes and
#: small-sweep depths first (seeds), then by name / size
TIE_ORDER = {
    "dataset": ("seeds.butter_datasets", "is_core"),
    "shape": ("seeds.butter_shapes", "is_core"),
    "depth": ("seeds.butter_depths", "is_small_sweep_depth"),
}


def pick_slice(con: duckdb.DuckDBPyConnection, source: str, keys: Sequence[str], choice: Choice,
               params: Sequence[Any] = ()) -> tuple[dict[str, Any], int] | None:
    """The values of ``keys`` with the most experiments (rows) in ``source``, within the options given.

    ``source`` is a query with one row per experiment and the key columns. Ties go to the
    study's core values (see TIE_ORDER), then the smallest. None when nothing matches.
    """
    where, args = [], list(params)
    for key in keys:
        if getattr(choice, key) is not None:
            where.append(f"s.{key} = ?")
            args.append(getattr(choice, key))
    joins, ties = [], []
    for key in keys:
        table, flag = TIE_ORDER[key]
        schema, name = table.split(".")
        if has_table(con, schema, name):
            joins.append(f"left join {table} as t_{key} on s.{key} = t_{key}.{key}")
            ties.append(f"bool_or(coalesce(t_{key}.{flag}, false)) desc")
        ties.append(f"s.{key}")
    found = _rows(con, f"""
        select {", ".join(f"s.{k}" for k in keys)}, count(*) as n
        from ({source}) as s {" ".join(joins)}
        {"where " + " and ".join(where) if where else ""}
        group by {", ".join(f"s.{k}" for k in keys)}
        order by n desc, {", ".join(ties)}
        limit 1
    """, args)
    if not found:
        return None
    return dict(zip(keys, found[0][:-1], strict=True)), int(found[0][-1])


def _slice_or_skip(con: duckdb.DuckDBPyConnection, source: str, keys: Sequence[str], choice: Choice,
                   what: str, params: Sequence[Any] = ()) -> dict[str, Any]:
    picked = pick_slice(con, source, keys, choice, params)
    if picked is None:
        given = ", ".join(f"{k} {getattr(choice, k)}" for k in keys if getattr(choice, k) is not None)
        raise FigureSkipped(f"no {what}" + (f" for {given}" if given else ""))
    return picked[0]


#: the dbt vars (dbt_project.yml) of the double-descent rule, by DoubleDescentRule field: the
#: analysis ``analyses/epochwise_double_descent.sql`` and this map read the same values
DOUBLE_DESCENT_VARS = {
    "rise": "butter_double_descent_rise",
    "window": "butter_double_descent_window",
    "epochs": "butter_double_descent_epochs",
}


@dataclass(frozen=True)
class DoubleDescentRule:
    """The epoch-wise double-descent rule of analyses/epochwise_double_descent.sql: the median
    test-loss curve, smoothed by a centred running median over ``window`` of its epochs (a
    share), rises where it stays more than ``rise`` (a share: 0.10 is 10%) above its running
    minimum for ``epochs`` epochs in a row, and falls again where it later stays below the
    minimum before the rise for as many epochs."""

    rise: float
    window: float
    epochs: int

    @classmethod
    def of_project(cls, project_root: Path) -> DoubleDescentRule:
        """The rule as dbt_project.yml sets it."""
        config = project.read_config(project_root)
        values = {field: project.dbt_var(config, var) for field, var in DOUBLE_DESCENT_VARS.items()}
        rule = cls(rise=float(values["rise"]), window=float(values["window"]), epochs=int(values["epochs"]))
        if rule.epochs < 1:
            raise ValueError(f"{DOUBLE_DESCENT_VARS['epochs']} must be at least 1, not {rule.epochs}")
        return rule

    def sql(self) -> str:
        """One row per primary-sweep experiment whose published median test-loss curve the rule
        finds double descent in, on the curves' grid (marts.experiment_learning_curves: every
        epoch of a curve of up to 256, where it equals the analysis; on a longer curve the grid's
        epochs, smoothed over the same share, and "in a row" counts grid points)."""
        return _DOUBLE_DESCENT_SQL.format(rise=self.rise, window=self.window, epochs=self.epochs,
                                          ahead=self.epochs - 1)


_DOUBLE_DESCENT_SQL = """
with curves as (
    select e.dataset, e.shape, e.depth, c.experiment_id, c.epoch, c.test_loss_median as loss,
           floor(max(c.epoch) over (partition by c.experiment_id) * {window!r} / 2) as half_width
    from marts.experiment_learning_curves as c
    inner join marts.experiment_summary as e on c.experiment_id = e.experiment_id
    where e.is_primary_sweep and isfinite(c.test_loss_median)
),
smoothed as (
    select experiment_id, epoch,
           median(loss) over (partition by experiment_id order by epoch / (half_width + 0.5)
                              range between 1 preceding and 1 following) as loss
    from curves
),
running as (
    select *,
           min(loss) over (partition by experiment_id order by epoch
                           rows between unbounded preceding and current row) as running_min,
           min(loss) over ahead as lowest_ahead, max(loss) over ahead as highest_ahead,
           count(*) over ahead as epochs_ahead
    from smoothed
    window ahead as (partition by experiment_id order by epoch rows between current row and {ahead} following)
),
rises as (
    select experiment_id, min(epoch) as rise_epoch from running
    where epochs_ahead = {epochs} and lowest_ahead > running_min * (1 + {rise!r})
    group by 1
),
first_minima as (
    select r.experiment_id, r.rise_epoch, min(c.loss) as first_minimum
    from rises as r inner join running as c on r.experiment_id = c.experiment_id and c.epoch < r.rise_epoch
    group by 1, 2
),
found as (
    select m.experiment_id
    from first_minima as m inner join running as c on m.experiment_id = c.experiment_id and c.epoch >= m.rise_epoch
    group by m.experiment_id, m.first_minimum
    having bool_or(c.epochs_ahead = {epochs} and c.highest_ahead < m.first_minimum)
)
select e.dataset, e.shape, e.depth, e.experiment_id
from found inner join marts.experiment_summary as e on found.experiment_id = e.experiment_id
"""

PRIMARY_CURVES_SQL = """
select distinct e.dataset, e.shape, e.depth, e.experiment_id
from marts.experiment_summary as e
inner join marts.experiment_learning_curves as c on e.experiment_id = c.experiment_id
where e.is_primary_sweep and c.test_loss_median is not null
"""


def is_synthetic(con: duckdb.DuckDBPyConnection) -> bool:
    """Built from `butter demo` data: a data root read holds the generator's ``_demo_manifest.json``."""
    if not has_table(con, "audit", "load_audit"):
        return False
    for (folder,) in _rows(con, "select distinct folder_path from audit.load_audit where folder_path is not null"):
        text = str(folder)
        if "://" in text:
            continue
        path = Path(text)
        if (path / "_demo_manifest.json").exists() or (path.parent / "_demo_manifest.json").exists():
            return True
    return False


def _loss_label(con: duckdb.DuckDBPyConnection, dataset: str) -> str:
    found = _rows(con, "select distinct task_type from marts.experiment_summary where dataset = ?", [dataset])
    kinds = {r[0] for r in found}
    if kinds == {"regression"}:
        return "mean squared error"
    if kinds and "regression" not in kinds:
        return "cross-entropy, nats"
    return "loss of the dataset"


#: an axis is logarithmic only when its values span at least this ratio (two decades)
LOG_SPAN = 100.0


def _axis_scale(values: Sequence[float | None]) -> str:
    """Log when every value is positive and they span two decades or more, else linear."""
    found = [v for v in values if v is not None]
    if found and all(v > 0 for v in found) and max(found) / min(found) >= LOG_SPAN:
        return "log"
    return "linear"


def _x_scale(values: list[float]) -> str:
    """Penalties: log when positive and spanning decades; symlog when a zero must stay visible."""
    found = [v for v in values if v is not None]
    if found and all(v > 0 for v in found):
        return _axis_scale(found)
    positive = [v for v in found if v > 0]
    return "symlog" if positive and max(positive) / min(positive) >= LOG_SPAN else "linear"


def _group(rows: list[tuple]) -> dict[Any, list[tuple]]:
    """Rows (key, ...) grouped by their first element, order kept."""
    grouped: dict[Any, list[tuple]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row[1:])
    return grouped


# --- the figures -------------------------------------------------------------------------

CURVES_SQL = """
select
    s.size,
    c.epoch,
    median(c.test_loss_median) as test_loss_median,
    {q1} as test_loss_q1,
    {q3} as test_loss_q3,
    count(*) as num_experiments
from marts.experiment_learning_curves as c
inner join marts.experiment_summary as s on c.experiment_id = s.experiment_id
where s.is_primary_sweep and s.dataset = ? and s.shape = ? and s.depth = ? and c.test_loss_median is not null
group by s.size, c.epoch
order by s.size, c.epoch
"""


def _curves(con: duckdb.DuckDBPyConnection, where: dict[str, Any]) -> tuple[list[tuple], bool]:
    columns = _columns(con, "experiment_learning_curves")
    quartiles = {"test_loss_q1", "test_loss_q3"} <= columns
    sql = CURVES_SQL.format(q1="median(c.test_loss_q1)" if quartiles else "null",
                            q3="median(c.test_loss_q3)" if quartiles else "null")
    rows = _rows(con, sql, [where["dataset"], where["shape"], where["depth"]])
    quartiles = quartiles and any(r[3] is not None and r[4] is not None for r in rows)
    return rows, quartiles


def _curve_slice(con: duckdb.DuckDBPyConnection, choice: Choice) -> dict[str, Any]:
    _require(con, "experiment_learning_curves")
    return _slice_or_skip(con, PRIMARY_CURVES_SQL, ("dataset", "shape", "depth"), choice,
                          "primary-sweep learning curves")


def learning_curves(con: duckdb.DuckDBPyConnection, choice: Choice) -> Figure:
    where = _curve_slice(con, choice)
    rows, quartiles = _curves(con, where)
    series = []
    for size, points in _group(rows).items():
        # a band where quartiles are published: a point without them is a gap in the band
        band = quartiles and any(p[2] is not None and p[3] is not None for p in points)
        series.append(Series(
            label=_size_label(size), x=[float(p[0]) for p in points], y=[p[1] for p in points],
            band_low=[p[2] for p in points] if band else None,
            band_high=[p[3] for p in points] if band else None,
            n=[int(p[4]) for p in points],
        ))
    values = [v for s in series for v in s.y + (s.band_low or [])]
    xscale = _axis_scale([x for s in series for x in s.x])
    yscale = _axis_scale(values)
    panel = Panel(
        title=f"{where['dataset']}, {where['shape']}, depth {where['depth']}"
              + (" (band: q1-q3 over runs)" if quartiles else " (no band: quartiles not published)"),
        xlabel="epoch",
        ylabel=f"median test loss ({_loss_label(con, where['dataset'])})",
        xscale=xscale, yscale=yscale, legend_title="size (parameters)", series=series,
    )
    return Figure("learning_curves", "Learning curves: median test loss per epoch, by network size",
                  [panel], where)


def loss_vs_parameters(con: duckdb.DuckDBPyConnection, choice: Choice) -> Figure:
    _require(con, "experiment_summary")
    where = _slice_or_skip(con, "select shape from marts.experiment_summary where is_primary_sweep "
                                "and median_curve_best_test_loss is not null",
                           ("shape",), choice, "primary-sweep experiments with a best test loss")
    rows = _rows(con, """
        select dataset, depth, num_free_parameters, median(median_curve_best_test_loss) as loss,
               count(*) as num_experiments
        from marts.experiment_summary
        where is_primary_sweep and shape = ? and median_curve_best_test_loss is not null
        group by dataset, depth, num_free_parameters
        order by dataset, depth, num_free_parameters
    """, [where["shape"]])
    panels = []
    for dataset, points in _group(rows).items():
        series = [Series(label=str(depth), x=[float(p[0]) for p in pts], y=[p[1] for p in pts],
                         n=[int(p[2]) for p in pts])
                  for depth, pts in _group(list(points)).items()]
        xscale = _axis_scale([x for s in series for x in s.x])
        yscale = _axis_scale([v for s in series for v in s.y])
        panels.append(Panel(
            title=dataset, xlabel="trainable parameters",
            ylabel=f"median curve's best test loss ({_loss_label(con, dataset)})",
            xscale=xscale, yscale=yscale, legend_title="depth (layers)", series=series,
        ))
    return Figure("loss_vs_parameters",
                  f"Best test loss of the median curve vs parameter count, one line per depth ({where['shape']}, "
                  "primary sweep)", panels, where)


def double_descent(con: duckdb.DuckDBPyConnection, choice: Choice, rule: DoubleDescentRule) -> Figure:
    _require(con, "experiment_learning_curves")
    picked = pick_slice(con, rule.sql(), ("dataset", "shape", "depth"), choice)
    if picked is None:  # none visible: the learning curves' slice, and the title says so
        where, found = _curve_slice(con, choice), 0
    else:
        where, found = picked
    rows, _ = _curves(con, where)
    series = [Series(label=str(size), x=[float(p[0]) for p in points], y=[p[1] for p in points],
                     n=[int(p[4]) for p in points])
              for size, points in _group(rows).items()]
    marked = sorted({str(r[0]) for r in _rows(con, f"""
        select e.size from ({rule.sql()}) as found
        inner join marts.experiment_summary as e on found.experiment_id = e.experiment_id
        where found.dataset = ? and found.shape = ? and found.depth = ?
    """, [where["dataset"], where["shape"], where["depth"]])})
    xscale = _axis_scale([x for s in series for x in s.x])
    colours = _axis_scale([v for s in series for v in s.y if v is not None and v > 0])
    panel = Panel(
        title=f"{where['dataset']}, {where['shape']}, depth {where['depth']} (primary sweep)\n"
              + (f"{found} experiment{'s' if found != 1 else ''} with epoch-wise double descent "
                 "(rows outlined, *)" if found else "no epoch-wise double descent found in the data"),
        xlabel="epoch", ylabel="size (trainable parameters)", xscale=xscale, kind="heatmap",
        legend_title=f"median test loss ({_loss_label(con, where['dataset'])}"
                     + (", log colour scale)" if colours == "log" else ")"),
        series=series, marked=marked,
    )
    return Figure("double_descent", "Epoch-wise double descent: median test loss over size and epoch",
                  [panel], where)


#: why a sweep may be absent beyond "not downloaded": the sweeps only one layout publishes
ABSENT_SWEEP_HINTS = {
    "optimizer": "only the current release publishes it, in optimizer_sweep_summary/; the template layout "
                 "has none",
}


def _sweep_present(con: duckdb.DuckDBPyConnection, sweep: str) -> None:
    _require(con, "sweep_comparisons")
    if not _rows(con, "select 1 from marts.sweep_comparisons where sweep = ? limit 1", [sweep]):
        raise FigureSkipped(f"the {sweep} sweep is not in the warehouse ("
                            + ABSENT_SWEEP_HINTS.get(sweep, "its folders were not downloaded?") + ")")


def _require_complete_groups(con: duckdb.DuckDBPyConnection) -> None:
    if "group_is_complete" not in _columns(con, "sweep_comparisons"):
        raise FigureSkipped("marts.sweep_comparisons has no group_is_complete (rebuild it with `make build`)")


def learning_rate_sweep(con: duckdb.DuckDBPyConnection, choice: Choice) -> Figure:
    _sweep_present(con, "learning_rate")
    _require_complete_groups(con)
    where = _slice_or_skip(con, "select dataset from marts.sweep_comparisons "
                                "where sweep = 'learning_rate' and group_is_complete",
                           ("dataset",), choice, "complete comparison groups in the learning-rate sweep")
    rows = _rows(con, """
        select shape, learning_rate, median(median_curve_best_test_loss) as loss, count(*) as num_experiments
        from marts.sweep_comparisons
        where sweep = 'learning_rate' and group_is_complete and dataset = ?
        group by shape, learning_rate
        order by shape, learning_rate
    """, [where["dataset"]])
    series = [Series(label=shape, x=[float(p[0]) for p in pts], y=[p[1] for p in pts], n=[int(p[2]) for p in pts])
              for shape, pts in _group(rows).items()]
    xscale = _axis_scale([x for s in series for x in s.x])
    yscale = _axis_scale([v for s in series for v in s.y])
    panel = Panel(
        title=f"{where['dataset']}: complete comparison groups only (every learning rate present), "
              "all depths and sizes",
        xlabel="learning rate",
        ylabel=f"median curve's best test loss ({_loss_label(con, where['dataset'])})",
        xscale=xscale, yscale=yscale, legend_title="shape", series=series,
    )
    return Figure("learning_rate_sweep",
                  "Learning-rate sweep: median over experiments of the median curve's best test loss",
                  [panel], where)


def label_noise(con: duckdb.DuckDBPyConnection, choice: Choice) -> Figure:
    _require(con, "experiment_summary")
    if not _rows(con, "select 1 from marts.experiment_summary where is_label_noise_sweep limit 1"):
        raise FigureSkipped("the label_noise sweep is not in the warehouse (its folders were not downloaded?)")
    where = _slice_or_skip(con, "select dataset, shape from marts.experiment_summary "
                                "where is_label_noise_sweep and median_curve_best_test_loss is not null",
                           ("dataset", "shape"), choice, "label-noise sweep experiments with a best test loss")
    rows = _rows(con, """
        select
            learning_rate,
            label_noise,
            median(median_curve_best_test_loss) as loss,
            median(median_curve_best_test_loss_epoch) as best_epoch,
            count(*) as num_experiments
        from marts.experiment_summary
        where is_label_noise_sweep and dataset = ? and shape = ? and median_curve_best_test_loss is not null
        group by learning_rate, label_noise
        order by learning_rate, label_noise
    """, [where["dataset"], where["shape"]])
    groups = _group(rows)
    loss = [Series(label=_fmt(lr), x=[p[0] for p in pts], y=[p[1] for p in pts], n=[int(p[3]) for p in pts])
            for lr, pts in groups.items()]
    epoch = [Series(label=_fmt(lr), x=[p[0] for p in pts], y=[p[2] for p in pts], n=[int(p[3]) for p in pts])
             for lr, pts in groups.items()]
    at = f"{where['dataset']}, {where['shape']}"
    loss_scale = _axis_scale([v for s in loss for v in s.y])
    epoch_scale = _axis_scale([v for s in epoch for v in s.y])
    panels = [
        Panel(title=f"{at}: best loss of the median curve\n(pooled over depths and sizes)",
              xlabel="label noise (share of training labels replaced)",
              ylabel=f"median curve's best test loss ({_loss_label(con, where['dataset'])})",
              yscale=loss_scale, legend_title="learning rate", series=loss),
        Panel(title=f"{at}: epoch where the median curve is lowest\n(pooled over depths and sizes)",
              xlabel="label noise (share of training labels replaced)",
              ylabel="epoch of the median curve's best test loss", yscale=epoch_scale,
              legend_title="learning rate", series=epoch),
    ]
    return Figure("label_noise",
                  "Label noise: median curve's best test loss and its epoch, median over experiments", panels, where)


def regularization(con: duckdb.DuckDBPyConnection, choice: Choice) -> Figure:
    _sweep_present(con, "regularization")
    _require_complete_groups(con)
    where = _slice_or_skip(con, "select dataset, shape from marts.sweep_comparisons "
                                "where sweep = 'regularization' and group_is_complete and not is_core_value "
                                "and kernel_regularizer_type in ('l1', 'l2') "
                                "and median_curve_best_test_loss is not null",
                           ("dataset", "shape"), choice,
                           "L1/L2 experiments in complete comparison groups of the regularization sweep")
    params = [where["dataset"], where["shape"]]
    rows = _rows(con, """
        select
            kernel_regularizer_type,
            case kernel_regularizer_type when 'l1' then kernel_regularizer_l1 else kernel_regularizer_l2 end as penalty,
            median(median_curve_best_test_loss) as loss,
            median(delta_vs_core) as delta,
            count(*) as num_experiments,
            count(delta_vs_core) as num_with_core
        from marts.sweep_comparisons
        where sweep = 'regularization' and group_is_complete and dataset = ? and shape = ? and not is_core_value
            and kernel_regularizer_type in ('l1', 'l2') and median_curve_best_test_loss is not null
            and case kernel_regularizer_type when 'l1' then kernel_regularizer_l1 else kernel_regularizer_l2 end
            is not null
        group by all
        order by kernel_regularizer_type, penalty
    """, params)
    core, core_n = _rows(con, """
        select median(median_curve_best_test_loss), count(median_curve_best_test_loss)
        from marts.sweep_comparisons
        where sweep = 'regularization' and group_is_complete and dataset = ? and shape = ? and is_core_value
    """, params)[0]
    if not rows:
        raise FigureSkipped(f"dataset {where['dataset']} with shape {where['shape']} has no L1/L2 experiments "
                            "in the regularization sweep")
    groups = _group(rows)
    loss = [Series(label=kind.upper(), x=[p[0] for p in pts], y=[p[1] for p in pts], n=[int(p[3]) for p in pts])
            for kind, pts in groups.items()]
    delta = []
    for kind, pts in groups.items():  # keep the points that have a core to compare with
        kept = [p for p in pts if p[2] is not None]
        if kept:
            delta.append(Series(label=kind.upper(), x=[p[0] for p in kept], y=[p[2] for p in kept],
                                n=[int(p[4]) for p in kept]))
    unit = _loss_label(con, where["dataset"])
    at = f"{where['dataset']}, {where['shape']}"
    xscale = _x_scale([x for s in loss for x in s.x])
    yscale = _axis_scale([v for s in loss for v in s.y] + ([core] if core is not None else []))
    panels = [
        Panel(title=f"{at}: best loss of the median curve (dashed: unregularized core)\n"
                    "(complete comparison groups, pooled over depths and sizes)",
              xlabel="penalty",
              ylabel=f"median curve's best test loss ({unit})", xscale=xscale,
              yscale=yscale, legend_title="penalty", series=loss, reference=core,
              reference_label="no penalty (core)", reference_n=int(core_n)),
        Panel(title=f"{at}: loss minus the unregularized core's\n(same groups)", xlabel="penalty",
              ylabel=f"median delta vs core ({unit})", xscale=xscale, legend_title="penalty", series=delta,
              reference=0.0, reference_label="core"),
    ]
    return Figure("regularization", "Regularization: L1 and L2 penalties vs the unregularized core", panels, where)


def optimizer_sweep(con: duckdb.DuckDBPyConnection, choice: Choice) -> Figure:
    """The median curve's best test loss per learning rate, one line per optimizer (``swept_value``:
    the optimizer with its momentum, e.g. ``SGD momentum 0.9``), over the optimizer sweep's complete
    comparison groups of one dataset (every optimizer present with a loss: the saved query
    ``optimizer_sweep``)."""
    _sweep_present(con, "optimizer")
    _require_complete_groups(con)
    where = _slice_or_skip(con, "select dataset from marts.sweep_comparisons "
                                "where sweep = 'optimizer' and group_is_complete",
                           ("dataset",), choice, "complete comparison groups in the optimizer sweep")
    rows = _rows(con, """
        select swept_value, learning_rate, median(median_curve_best_test_loss) as loss, count(*) as num_experiments
        from marts.sweep_comparisons
        where sweep = 'optimizer' and group_is_complete and dataset = ?
        group by swept_value, learning_rate
        order by swept_value, learning_rate
    """, [where["dataset"]])
    series = [Series(label=str(optimizer), x=[float(p[0]) for p in pts], y=[p[1] for p in pts],
                     n=[int(p[2]) for p in pts])
              for optimizer, pts in _group(rows).items()]
    xscale = _axis_scale([x for s in series for x in s.x])
    yscale = _axis_scale([v for s in series for v in s.y])
    panel = Panel(
        title=f"{where['dataset']}: complete comparison groups only, all depths, sizes and batch sizes",
        xlabel="learning rate",
        ylabel=f"median curve's best test loss ({_loss_label(con, where['dataset'])})",
        xscale=xscale, yscale=yscale, legend_title="optimizer", series=series,
    )
    return Figure("optimizer_sweep",
                  "Optimizer sweep: median over experiments of the median curve's best test loss",
                  [panel], where)


def builders(double_descent_rule: DoubleDescentRule) -> dict[str, Callable[[duckdb.DuckDBPyConnection, Choice], Figure]]:
    """Each figure's builder, in drawing order (the double-descent map with the project's rule)."""
    return {
        "learning_curves": learning_curves,
        "loss_vs_parameters": loss_vs_parameters,
        "double_descent": partial(double_descent, rule=double_descent_rule),
        "learning_rate_sweep": learning_rate_sweep,
        "label_noise": label_noise,
        "regularization": regularization,
        "optimizer_sweep": optimizer_sweep,
    }
