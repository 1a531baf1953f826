"""The study's standard figures, drawn from the published warehouse.

    butter figures [--out DIR] [--dataset NAME] [--shape NAME] [--depth N] [--warehouse PATH]

Reads the published DuckDB file read-only (its ``marts``; ``seeds`` for tie order and
``audit.load_audit`` for where the data came from), and
writes six figures as PNG and SVG, each with a sidecar ``<name>.json`` holding
exactly the data points plotted (tests compare them with their own SQL):

1. ``learning_curves``: median test loss vs epoch, q1-q3 band where published,
   one line per size, for one dataset / shape / depth (primary sweep);
2. ``loss_vs_parameters``: median-curve best test loss vs parameter count, one
   line per depth, one panel per dataset (primary sweep, one shape);
3. ``double_descent``: size x epoch heat map of the median test loss;
4. ``learning_rate_sweep``: median-curve best test loss per learning rate over
   complete comparison groups, one line per shape;
5. ``label_noise``: median-curve best loss and the epoch where the median curve
   is lowest vs label noise, one line per learning rate;
6. ``regularization``: L1 and L2 penalties vs the unregularized core.

Each figure picks its own slice: where its sweep has the most experiments (ties:
the study's core datasets, shapes and small-sweep depths, from ``seeds``), within
the options given; the double-descent map, where the rule of
``analyses/epochwise_double_descent.sql`` finds the most cases on the curves' grid.
An option a figure does not use is reported as not applying. A figure whose data
is absent (a sweep not downloaded, a dataset outside a sweep) is skipped with one
line saying why; in its place (any stale copy removed) a small image says why, so
the docs overview shows no broken image. Values are medians over the experiments
that share a plotted point; ``n`` (in the sidecar and the legend) counts them.
Axes are logarithmic only where the values span two decades; ticks are plain
numbers. Figures from ``butter demo`` data (its ``_demo_manifest.json`` beside the
folders ``audit.load_audit`` read) say "synthetic demo data" on the image.
Output is deterministic: same warehouse, same bytes.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen
from matplotlib import ticker  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

from . import ownership  # noqa: E402

FIGURES = (
    "learning_curves",
    "loss_vs_parameters",
    "double_descent",
    "learning_rate_sweep",
    "label_noise",
    "regularization",
)
FORMATS = ("png", "svg")
#: rcParams that make the output byte-identical from run to run
STYLE: dict[RcKeyType, Any] = {
    "svg.hashsalt": "butter-figures",
    "svg.fonttype": "none",  # text stays text (searchable, smaller); fonts by name
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.family": "DejaVu Sans",
    "axes.grid": True,
    "grid.alpha": 0.3,
}
SAVE_METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}


class FigureSkipped(Exception):
    """The data a figure needs is not in the warehouse; the message says why. Internal: ``render``
    records it as the figure's status and draws the others, so it never reaches the user
    (not a ``ButterError``)."""


@dataclass(frozen=True)
class Choice:
    """The slice asked for on the command line (``None``: each figure picks its own)."""

    dataset: str | None = None
    shape: str | None = None
    depth: int | None = None


#: the options each figure uses; any other option given is reported as not applying to it
USES: dict[str, tuple[str, ...]] = {
    "learning_curves": ("dataset", "shape", "depth"),
    "loss_vs_parameters": ("shape",),
    "double_descent": ("dataset", "shape", "depth"),
    "learning_rate_sweep": ("dataset",),
    "label_noise": ("dataset", "shape"),
    "regularization": ("dataset", "shape"),
}


def not_applying(name: str, choice: Choice) -> list[str]:
    """Which options given do not apply to figure ``name`` (it draws every value of them)."""
    return [f"--{option} does not apply to {name} (it draws every {option})"
            for option in ("dataset", "shape", "depth")
            if getattr(choice, option) is not None and option not in USES[name]]


@dataclass
class Series:
    """One plotted line (or heat-map row): its label and points, in plot order."""

    label: str
    x: list[float]
    y: list[float]
    band_low: list[float] | None = None
    band_high: list[float] | None = None
    n: list[int] | None = None  # experiments behind each point


@dataclass
class Panel:
    title: str
    xlabel: str
    ylabel: str
    xscale: str = "linear"
    yscale: str = "linear"
    legend_title: str = ""
    kind: str = "line"  # line | heatmap
    series: list[Series] = field(default_factory=list)
    reference: float | None = None  # a horizontal reference line (regularization: the core)
    reference_label: str = ""


@dataclass
class Figure:
    name: str
    title: str
    panels: list[Panel]
    choice: dict[str, Any]
    synthetic: bool = False  # drawn from `butter demo` data: the image says so


# --- reading the marts ------------------------------------------------------------------


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    return con.execute(sql, list(params)).fetchall()


def _has(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(_rows(con, "select 1 from information_schema.tables where table_schema = ? and table_name = ?",
                      [schema, table]))


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in _rows(con, "select column_name from information_schema.columns "
                                     "where table_schema = 'marts' and table_name = ?", [table])}


def _require(con: duckdb.DuckDBPyConnection, table: str) -> None:
    if not _has(con, "marts", table):
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
        if _has(con, schema, name):
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


#: one row per experiment whose published median test-loss curve falls, rises by more than
#: 10% above its running minimum, then falls below the minimum before the rise (the rule of
#: analyses/epochwise_double_descent.sql, on the curves' grid)
DOUBLE_DESCENT_SQL = """
with curves as (
    select e.dataset, e.shape, e.depth, c.experiment_id, c.epoch, c.test_loss_median as loss
    from marts.experiment_learning_curves as c
    inner join marts.experiment_summary as e on c.experiment_id = e.experiment_id
    where e.is_primary_sweep and isfinite(c.test_loss_median)
),
running as (
    select *, min(loss) over (partition by experiment_id order by epoch
                              rows between unbounded preceding and current row) as running_min
    from curves
),
rises as (
    select experiment_id, min(epoch) as rise_epoch from running where loss > running_min * 1.1 group by 1
),
found as (
    select r.experiment_id,
           min(c.loss) filter (where c.epoch < r.rise_epoch) as first_minimum,
           min(c.loss) filter (where c.epoch >= r.rise_epoch) as second_minimum
    from rises as r inner join running as c on r.experiment_id = c.experiment_id
    group by 1
)
select e.dataset, e.shape, e.depth, e.experiment_id
from found inner join marts.experiment_summary as e on found.experiment_id = e.experiment_id
where found.second_minimum < found.first_minimum
"""

PRIMARY_CURVES_SQL = """
select distinct e.dataset, e.shape, e.depth, e.experiment_id
from marts.experiment_summary as e
inner join marts.experiment_learning_curves as c on e.experiment_id = c.experiment_id
where e.is_primary_sweep and c.test_loss_median is not null
"""


def is_synthetic(con: duckdb.DuckDBPyConnection) -> bool:
    """Built from `butter demo` data: a data root read holds the generator's ``_demo_manifest.json``."""
    if not _has(con, "audit", "load_audit"):
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


def _scale_note(scale: str) -> str:
    return " (log scale)" if scale in ("log", "symlog") else ""


def _group(rows: list[tuple]) -> dict[Any, list[tuple]]:
    """Rows (key, ...) grouped by their first element, order kept."""
    grouped: dict[Any, list[tuple]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row[1:])
    return grouped


def _fmt(value: float) -> str:
    return f"{value:g}"


# --- the six figures ----------------------------------------------------------------------

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


def _size_label(size: float) -> str:
    return f"2^{round(math.log2(size))}" if size > 0 else _fmt(size)


def _curve_slice(con: duckdb.DuckDBPyConnection, choice: Choice) -> dict[str, Any]:
    _require(con, "experiment_learning_curves")
    return _slice_or_skip(con, PRIMARY_CURVES_SQL, ("dataset", "shape", "depth"), choice,
                          "primary-sweep learning curves")


def learning_curves(con: duckdb.DuckDBPyConnection, choice: Choice) -> Figure:
    where = _curve_slice(con, choice)
    rows, quartiles = _curves(con, where)
    series = []
    for size, points in _group(rows).items():
        band = quartiles and all(p[2] is not None and p[3] is not None for p in points)
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
        xlabel=f"epoch{_scale_note(xscale)}",
        ylabel=f"median test loss ({_loss_label(con, where['dataset'])}){_scale_note(yscale)}",
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
            title=dataset, xlabel=f"trainable parameters (count){_scale_note(xscale)}",
            ylabel=f"median curve's best test loss ({_loss_label(con, dataset)}){_scale_note(yscale)}",
            xscale=xscale, yscale=yscale, legend_title="depth (layers)", series=series,
        ))
    return Figure("loss_vs_parameters",
                  f"Best test loss of the median curve vs parameter count, one line per depth ({where['shape']}, "
                  "primary sweep)", panels, where)


def double_descent(con: duckdb.DuckDBPyConnection, choice: Choice) -> Figure:
    _require(con, "experiment_learning_curves")
    picked = pick_slice(con, DOUBLE_DESCENT_SQL, ("dataset", "shape", "depth"), choice)
    if picked is None:  # none visible: the learning curves' slice, and the title says so
        where, found = _curve_slice(con, choice), 0
    else:
        where, found = picked
    rows, _ = _curves(con, where)
    series = [Series(label=str(size), x=[float(p[0]) for p in points], y=[p[1] for p in points],
                     n=[int(p[4]) for p in points])
              for size, points in _group(rows).items()]
    xscale = _axis_scale([x for s in series for x in s.x])
    panel = Panel(
        title=f"{where['dataset']}, {where['shape']}, depth {where['depth']} (primary sweep)\n"
              + (f"{found} experiment{'s' if found != 1 else ''} with epoch-wise double descent" if found
                 else "no epoch-wise double descent found in the data"),
        xlabel=f"epoch{_scale_note(xscale)}", ylabel="size (trainable parameters)", xscale=xscale, kind="heatmap",
        legend_title=f"median test loss ({_loss_label(con, where['dataset'])}, log colour scale)", series=series,
    )
    return Figure("double_descent", "Epoch-wise double descent: median test loss over size and epoch",
                  [panel], where)


def _sweep_present(con: duckdb.DuckDBPyConnection, sweep: str) -> None:
    _require(con, "sweep_comparisons")
    if not _rows(con, "select 1 from marts.sweep_comparisons where sweep = ? limit 1", [sweep]):
        raise FigureSkipped(f"the {sweep} sweep is not in the warehouse (its folders were not downloaded?)")


def learning_rate_sweep(con: duckdb.DuckDBPyConnection, choice: Choice) -> Figure:
    _sweep_present(con, "learning_rate")
    if "group_is_complete" not in _columns(con, "sweep_comparisons"):
        raise FigureSkipped("marts.sweep_comparisons has no group_is_complete (rebuild it with `make build`)")
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
        xlabel=f"learning rate{_scale_note(xscale)}",
        ylabel=f"median curve's best test loss ({_loss_label(con, where['dataset'])}){_scale_note(yscale)}",
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
        Panel(title=f"{at}: best loss of the median curve", xlabel="label noise (share of training labels replaced)",
              ylabel=f"median curve's best test loss ({_loss_label(con, where['dataset'])}){_scale_note(loss_scale)}",
              yscale=loss_scale, legend_title="learning rate", series=loss),
        Panel(title=f"{at}: epoch where the median curve is lowest",
              xlabel="label noise (share of training labels replaced)",
              ylabel=f"epoch of the median curve's best test loss{_scale_note(epoch_scale)}", yscale=epoch_scale,
              legend_title="learning rate", series=epoch),
    ]
    return Figure("label_noise",
                  "Label noise: median curve's best test loss and its epoch, median over experiments", panels, where)


def regularization(con: duckdb.DuckDBPyConnection, choice: Choice) -> Figure:
    _sweep_present(con, "regularization")
    where = _slice_or_skip(con, "select dataset, shape from marts.sweep_comparisons "
                                "where sweep = 'regularization' and not is_core_value "
                                "and kernel_regularizer_type in ('l1', 'l2') "
                                "and median_curve_best_test_loss is not null",
                           ("dataset", "shape"), choice, "L1/L2 experiments in the regularization sweep")
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
        where sweep = 'regularization' and dataset = ? and shape = ? and not is_core_value
            and kernel_regularizer_type in ('l1', 'l2') and median_curve_best_test_loss is not null
            and case kernel_regularizer_type when 'l1' then kernel_regularizer_l1 else kernel_regularizer_l2 end
            is not null
        group by all
        order by kernel_regularizer_type, penalty
    """, params)
    core = _rows(con, """
        select median(median_curve_best_test_loss)
        from marts.sweep_comparisons
        where sweep = 'regularization' and dataset = ? and shape = ? and is_core_value
    """, params)[0][0]
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
        Panel(title=f"{at}: best loss of the median curve (dashed: unregularized core)",
              xlabel=f"penalty{_scale_note(xscale)}",
              ylabel=f"median curve's best test loss ({unit}){_scale_note(yscale)}", xscale=xscale,
              yscale=yscale, legend_title="penalty", series=loss, reference=core,
              reference_label="no penalty (core)"),
        Panel(title=f"{at}: loss minus the unregularized core's", xlabel=f"penalty{_scale_note(xscale)}",
              ylabel=f"median delta vs core ({unit})", xscale=xscale, legend_title="penalty", series=delta,
              reference=0.0, reference_label="core"),
    ]
    return Figure("regularization", "Regularization: L1 and L2 penalties vs the unregularized core", panels, where)


BUILDERS: dict[str, Callable[[duckdb.DuckDBPyConnection, Choice], Figure]] = {
    "learning_curves": learning_curves,
    "loss_vs_parameters": loss_vs_parameters,
    "double_descent": double_descent,
    "learning_rate_sweep": learning_rate_sweep,
    "label_noise": label_noise,
    "regularization": regularization,
}


# --- drawing --------------------------------------------------------------------------------


def _edges(values: list[float], log: bool) -> list[float]:
    """Cell edges around sorted centres (geometric midpoints on a log axis)."""
    if len(values) == 1:
        v = values[0]
        return [v / 1.5, v * 1.5] if log else [v - 0.5, v + 0.5]
    mids = [math.sqrt(a * b) if log else (a + b) / 2 for a, b in zip(values, values[1:], strict=False)]
    first = values[0] ** 2 / mids[0] if log else 2 * values[0] - mids[0]
    last = values[-1] ** 2 / mids[-1] if log else 2 * values[-1] - mids[-1]
    return [first, *mids, last]


def _n_text(n: list[int] | None) -> str:
    if not n:
        return ""
    low, high = min(n), max(n)
    return f" (n={low})" if low == high else f" (n={low}-{high})"


def _readable_ticks(axis: Any, scale: str, integer: bool = False) -> None:
    """Plain numbers on every axis (1, 10, 100, 0.001: never 3x10^1); whole numbers on epoch axes."""
    if scale in ("log", "symlog"):
        axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(ticker.NullFormatter())
    elif integer:
        axis.set_major_locator(ticker.MaxNLocator(integer=True))


def _draw_heatmap(fig: plt.Figure, ax: plt.Axes, panel: Panel) -> None:
    values = [v for s in panel.series for v in s.y if v is not None and v > 0]
    norm = LogNorm(vmin=min(values), vmax=max(values)) if values else None
    mesh = None
    log_x = panel.xscale == "log"
    for row, s in enumerate(panel.series):  # one row per size, each on its own epoch grid
        x_edges = _edges(s.x, log=log_x)
        mesh = ax.pcolormesh(x_edges, [row - 0.5, row + 0.5], [s.y], norm=norm, cmap="viridis", shading="flat")
    ax.set_yticks(range(len(panel.series)),
                  [_size_label(float(s.label)) + _n_text(s.n) for s in panel.series])
    ax.grid(False)
    if mesh is not None and values:
        bar = fig.colorbar(mesh, ax=ax, label=panel.legend_title)
        low, high = min(values), max(values)
        ticks = [low * (high / low) ** (i / 4) for i in range(5)] if high > low else [low]
        bar.set_ticks(ticks, labels=[f"{t:.3g}" for t in ticks])  # plain numbers, never 2x10^-1
        bar.ax.minorticks_off()


def _draw_lines(ax: plt.Axes, panel: Panel) -> None:
    colors = plt.get_cmap("viridis" if len(panel.series) > 6 else "tab10")
    n = max(len(panel.series) - 1, 1)
    for i, s in enumerate(panel.series):
        color = colors(i / n) if len(panel.series) > 6 else colors(i)
        ax.plot(s.x, s.y, marker="o", markersize=3, linewidth=1.5, color=color, label=s.label + _n_text(s.n))
        if s.band_low is not None and s.band_high is not None:
            ax.fill_between(s.x, s.band_low, s.band_high, color=color, alpha=0.2, linewidth=0)
    if panel.reference is not None:
        ax.axhline(panel.reference, color="black", linestyle="--", linewidth=1, label=panel.reference_label)
    ax.legend(title=f"{panel.legend_title} (n: experiments per point)", fontsize="small", title_fontsize="small")


#: the text every figure drawn from `butter demo` data carries on the image
SYNTHETIC_NOTE = "synthetic demo data (butter demo), not BUTTER results"


def draw(figure: Figure) -> plt.Figure:
    """The matplotlib figure for ``figure`` (panels in a grid of at most 3 columns)."""
    count = len(figure.panels)
    cols = min(count, 3)
    rows = math.ceil(count / cols)
    width = 6.4 * cols if cols > 1 else 8.0
    fig, axes = plt.subplots(rows, cols, figsize=(width, 4.6 * rows), squeeze=False)
    for ax, panel in zip(axes.flat, figure.panels, strict=False):
        if panel.kind == "heatmap":
            _draw_heatmap(fig, ax, panel)
        else:
            _draw_lines(ax, panel)
        ax.set_xscale(panel.xscale)
        _readable_ticks(ax.xaxis, panel.xscale, integer="epoch" in panel.xlabel)
        if panel.kind != "heatmap":
            ax.set_yscale(panel.yscale)
            _readable_ticks(ax.yaxis, panel.yscale, integer="epoch" in panel.ylabel)
            xs = sorted({x for s in panel.series for x in s.x})
            if 0 < len(xs) <= 4:  # a few settings: tick exactly those (no 0.0096 around one penalty)
                ax.set_xticks(xs, [_fmt(x) for x in xs])
                ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_title(panel.title, fontsize="medium")
        ax.set_xlabel(panel.xlabel)
        ax.set_ylabel(panel.ylabel)
    for ax in list(axes.flat)[count:]:
        ax.set_visible(False)
    fig.suptitle(figure.title + (f"\n{SYNTHETIC_NOTE}" if figure.synthetic else ""),
                 color="black")
    if figure.synthetic:
        fig.text(0.5, 0.5, "synthetic demo data", fontsize=40, color="0.5", alpha=0.25, ha="center", va="center",
                 rotation=20)
    fig.tight_layout()
    return fig


def sidecar(figure: Figure, warehouse: Path) -> dict[str, Any]:
    """What the figure plots, point by point (``<name>.json``)."""
    return {"figure": figure.name, "title": figure.title, "warehouse": str(warehouse),
            "choice": figure.choice, "synthetic_demo_data": figure.synthetic,
            "panels": [asdict(p) for p in figure.panels]}


def _save(name: str, make: Callable[[], Any], data: dict[str, Any], out: Path) -> list[Path]:
    """``make()``'s matplotlib figure as ``<name>.png`` and ``.svg`` plus ``data`` as ``<name>.json``."""
    paths = []
    with plt.rc_context(STYLE):
        fig = make()
        try:
            for fmt in FORMATS:
                path = out / f"{name}.{fmt}"
                fig.savefig(path, format=fmt, metadata=SAVE_METADATA[fmt])
                paths.append(path)
        finally:
            plt.close(fig)
    sidecar_path = out / f"{name}.json"
    sidecar_path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return [*paths, sidecar_path]


def write(figure: Figure, out: Path, warehouse: Path) -> list[Path]:
    """The figure as PNG and SVG plus its JSON sidecar, in ``out``."""
    return _save(figure.name, lambda: draw(figure), sidecar(figure, warehouse), out)


def _remove_stale(out: Path, name: str) -> None:
    for suffix in (*FORMATS, "json"):
        (out / f"{name}.{suffix}").unlink(missing_ok=True)


def write_skipped(name: str, why: str, out: Path) -> list[Path]:
    """In place of a figure that could not be drawn: a small image saying why (the docs
    overview shows it instead of a broken image) and a sidecar with the reason."""
    _remove_stale(out, name)

    def note() -> Any:
        fig = plt.figure(figsize=(6.4, 1.2))
        fig.text(0.5, 0.5, f"{name.replace('_', ' ')}: not drawn\n{why}", ha="center", va="center",
                 wrap=True, color="0.35")
        return fig

    return _save(name, note, {"figure": name, "skipped": why}, out)


def render(warehouse: Path, out: Path, dataset: str | None = None, shape: str | None = None,
           depth: int | None = None, log: Callable[[str], None] = print) -> dict[str, str]:
    """Write every figure it has data for; returns {figure: "written" or the reason it was skipped}."""
    if not warehouse.exists():
        raise FileNotFoundError(f"no published warehouse at {warehouse}: run `make build` first "
                                "(or set BUTTER_DUCKDB_PATH)")
    problem = ownership.reader_problem(warehouse)
    if problem:
        raise FileNotFoundError(f"{problem}; no figure was changed")
    status: dict[str, str] = {}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        if not _has(con, "marts", "experiment_summary"):
            raise FileNotFoundError(f"{warehouse} has no marts.experiment_summary, which every figure starts from: "
                                    "build the warehouse with `butter build`; no figure was changed")
        out.mkdir(parents=True, exist_ok=True)
        choice = Choice(dataset, shape, None if depth is None else int(depth))
        synthetic = is_synthetic(con)
        given = ", ".join(f"{k} {v}" for k, v in asdict(choice).items() if v is not None)
        log(f"figures -> {out}: each figure's slice " + (f"within {given}" if given else
            "is where its sweep has the most experiments")
            + ("; synthetic demo data" if synthetic else ""))
        for name, build in BUILDERS.items():
            try:
                figure = build(con, choice)
            except FigureSkipped as why:
                write_skipped(name, str(why), out)
                status[name] = f"skipped: {why}"
                log(f"skipped {name}: {why}")
                continue
            figure.synthetic = synthetic
            paths = write(figure, out, warehouse)
            notes = not_applying(name, choice)
            status[name] = "; ".join(["written", *notes])
            slice_text = ", ".join(f"{k} {v}" for k, v in figure.choice.items())
            log(f"wrote {name} for {slice_text} ({', '.join(p.name for p in paths)})"
                + "".join(f"; {note}" for note in notes))
    finally:
        con.close()
    (out / "figures.json").write_text(json.dumps(status, indent=1, sort_keys=True) + "\n")
    return status


def copy_to_docs_site(out: Path, site: Path, relative: str) -> Path | None:
    """Refresh the docs site's copy of the figures (``dbt docs generate`` copies asset-paths)."""
    if not (site / "index.html").exists():
        return None
    target = site / relative
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(out, target)
    return target


DEFAULT_OUT = Path("assets") / "figures"  # relative to the project: inside the docs site's asset-paths


def run(warehouse: Path, project_root: Path, site: Path, *, out: Path | None = None, dataset: str | None = None,
        shape: str | None = None, depth: int | None = None) -> int:
    """``butter figures``: render, then refresh the docs site's copy when writing to the default place."""
    out = out if out is not None else project_root / DEFAULT_OUT
    try:
        status = render(warehouse, out, dataset=dataset, shape=shape, depth=depth)
    except FileNotFoundError as error:
        print(f"butter figures: {error}")
        return 1
    if out.resolve() == (project_root / DEFAULT_OUT).resolve():
        copied = copy_to_docs_site(out, site, str(DEFAULT_OUT))
        if copied is not None:
            print(f"refreshed the docs site's copy in {copied}")
    written = sum(value.startswith("written") for value in status.values())
    print(f"{written} of {len(status)} figures written to {out}")
    return 0
