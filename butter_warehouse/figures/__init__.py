"""The study's standard figures, drawn from the published warehouse.

    butter figures [--out DIR] [--dataset NAME] [--shape NAME] [--depth N] [--warehouse PATH]

Reads the published DuckDB file read-only (its ``marts``; ``seeds`` for tie order and
``audit.load_audit`` for where the data came from), and
writes seven figures as PNG and SVG, each with a sidecar ``<name>.json`` holding
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
6. ``regularization``: L1 and L2 penalties vs the unregularized core;
7. ``optimizer_sweep``: median-curve best test loss per learning rate over complete
   comparison groups, one line per optimizer (with its momentum).

Each figure picks its own slice: where its sweep has the most experiments (ties:
the study's core datasets, shapes and small-sweep depths, from ``seeds``), within
the options given; the double-descent map, where the rule of
``analyses/epochwise_double_descent.sql`` finds the most cases on the curves' grid.
An option a figure does not use is reported as not applying. A figure whose data
is absent (a sweep not downloaded, a dataset outside a sweep) is skipped with one
line saying why; in its place (any stale copy removed) a small image says why, so
the docs overview shows no broken image. Values are medians over the experiments
that share a plotted point; ``n`` (in the sidecar and the legend) counts them.
Axes (and the heat map's colour scale) are logarithmic only where the values span two
decades; a logarithmic axis is ticked at powers of ten, labelled 10^k, a linear one in plain
numbers. PNGs are 300 dpi, beside the SVG. Figures from ``butter demo`` data (its
``_demo_manifest.json`` beside the folders ``audit.load_audit`` read) say "synthetic demo
data" on the image, the placeholders too.
Output is deterministic: same warehouse, same bytes.

Modules: ``queries`` (the SQL reading the marts, each figure's slice, the
builders), ``drawing`` (matplotlib: images and sidecars), ``model`` (what a figure
is, between the two); this module renders them all (``butter figures``).
"""


from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import duckdb

from .. import ownership
from .drawing import write, write_skipped
from .model import FIGURES, Choice, FigureSkipped, not_applying
from .queries import DoubleDescentRule, builders, has_table, is_synthetic

__all__ = ["DEFAULT_OUT", "FIGURES", "copy_to_docs_site", "DoubleDescentRule", "render",
           "run"]


def render(warehouse: Path, out: Path, dataset: str | None = None, shape: str | None = None,
           depth: int | None = None, log: Callable[[str], None] = print, *, project_root: Path) -> dict[str, str]:
    """Write every figure it has data for; returns {figure: "written" or the reason it was skipped}.
    ``project_root``: the dbt project whose rules the figures share (the double-descent rule)."""
    if not warehouse.exists():
        raise FileNotFoundError(f"no published warehouse at {warehouse}: run `make build` first "
                                "(or set BUTTER_DUCKDB_PATH)")
    problem = ownership.reader_problem(warehouse)
    if problem:
        raise FileNotFoundError(f"{problem}; no figure was changed")
    status: dict[str, str] = {}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        if not has_table(con, "marts", "experiment_summary"):
            raise FileNotFoundError(f"{warehouse} has no marts.experiment_summary, which every figure starts from: "
                                    "build the warehouse with `butter build`; no figure was changed")
        out.mkdir(parents=True, exist_ok=True)
        choice = Choice(dataset, shape, None if depth is None else int(depth))
        synthetic = is_synthetic(con)
        given = ", ".join(f"{k} {v}" for k, v in asdict(choice).items() if v is not None)
        log(f"figures -> {out}: each figure's slice " + (f"within {given}" if given else
            "is where its sweep has the most experiments")
            + ("; synthetic demo data" if synthetic else ""))
        for name, build in builders(DoubleDescentRule.of_project(project_root)).items():
            try:
                figure = build(con, choice)
            except FigureSkipped as why:
                write_skipped(name, str(why), out, synthetic=synthetic)
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
        status = render(warehouse, out, dataset=dataset, shape=shape, depth=depth, project_root=project_root)
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
