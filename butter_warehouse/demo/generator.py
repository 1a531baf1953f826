"""Write a complete demo copy of a BUTTER layout (the template's or the current release's; see ``generate``)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

from .. import contract, encoding
from ..errors import InputError
from ..progress import Progress
from . import curves, design as design_mod, summary, tables, traps as traps_mod, writer
from .design import Design, Experiment

MANIFEST_NAME = "_demo_manifest.json"
MANIFEST_VERSION = 3
#: the spellings each layout is written in (the first is the layout's, ``contract.LAYOUT_SPELLING``)
LAYOUT_SPELLINGS: dict[contract.Layout, tuple[contract.Spelling, ...]] = {
    "template": ("published", "framework"),
    "current": ("current",),
}


def _validate(layout: str, spelling: str, experiments: int, runs: int, epochs: int, traps: bool) -> None:
    if layout not in contract.LAYOUTS:
        raise ValueError(f"layout must be one of {contract.LAYOUTS}, not {layout!r}")
    allowed = LAYOUT_SPELLINGS[layout]  # type: ignore[index]  # checked just above
    if spelling not in allowed:
        raise ValueError(f"the {layout} layout is written in the {' or '.join(allowed)} spelling, not {spelling!r}")
    if experiments < 1:
        raise ValueError("experiments must be >= 1")
    if not 1 <= runs <= 255:
        raise ValueError("runs_per_experiment must be in 1..255 (num_runs is uint8)")
    if epochs < 2:
        raise ValueError("epochs must be >= 2")
    if traps and (epochs < traps_mod.MIN_TRAP_EPOCHS or runs < traps_mod.MIN_TRAP_RUNS):
        raise ValueError(
            f"traps need epochs >= {traps_mod.MIN_TRAP_EPOCHS} and runs_per_experiment >= "
            f"{traps_mod.MIN_TRAP_RUNS} (or pass traps=False)"
        )


class DemoTargetError(InputError, ValueError):
    """The folder given to write the demo into holds something the demo did not write; nothing
    was changed (exit code 2, ``butter demo: ...``)."""

    names_command = True


#: the non-data files a demo folder holds (``writer.write_common_metadata``)
_METADATA_FILES = frozenset({"_common_metadata"})


def _foreign(root: Path) -> str | None:
    """What in an existing ``root`` the demo did not write (None: ``root`` is empty or holds
    exactly a demo: its manifest, the folders it names and in each the files it counts)."""
    entries = sorted(p.name for p in root.iterdir())
    if not entries:
        return None
    try:
        manifest = json.loads((root / MANIFEST_NAME).read_text())
        counts = manifest["counts"]
        assert isinstance(counts, dict)
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        return f"holds {', '.join(entries[:4])}{' ...' if len(entries) > 4 else ''} and no demo manifest"
    other = [name for name in entries if name != MANIFEST_NAME and name not in counts]
    if other:
        return f"holds {', '.join(other[:4])}{' ...' if len(other) > 4 else ''}, which the demo did not write"
    for folder, count in counts.items():
        files = [p for p in (root / folder).rglob("*") if not p.is_dir()] if (root / folder).is_dir() else []
        extra = [p for p in files if p.name not in _METADATA_FILES and not p.name.endswith(".parquet")]
        parquet = sum(p.name.endswith(".parquet") for p in files)
        if extra or not isinstance(count, dict) or parquet != count.get("files"):
            wrote = count.get("files") if isinstance(count, dict) else "?"
            shown = f"{extra[0].relative_to(root)}" if extra else f"{parquet} parquet files in {folder}/"
            return f"holds {shown}, where the demo wrote {wrote} parquet files"
    return None


def _check_target(root: Path) -> None:
    """Refuse (DemoTargetError) a ``root`` that is not absent, an empty folder or a demo."""
    if not os.path.lexists(root):
        return
    if root.is_symlink() or not root.is_dir():
        raise DemoTargetError(f"{root} is not a folder the demo made: give --out a new or empty folder; "
                              "nothing was changed")
    what = _foreign(root)
    if what:
        raise DemoTargetError(f"{root} {what}: the demo writes only into a new or empty folder or over a demo it "
                              "wrote; give --out another folder (nothing was changed)")


def _install(work: Path, root: Path) -> None:
    """Put the finished demo ``work`` (a sibling folder) at ``root`` by renames: an absent or
    empty ``root`` is replaced in one rename, an earlier demo is moved aside first, then deleted."""
    _check_target(root)  # again: nothing may have been put there while the demo was written
    if os.path.lexists(root) and any(root.iterdir()):
        old = Path(tempfile.mkdtemp(prefix=f".{root.name}.demo-old-", dir=root.parent))
        os.replace(root, old / root.name)
        os.replace(work, root)
        shutil.rmtree(old)
    else:
        os.replace(work, root)  # rename(2) replaces an empty folder


def _leaves(design: Design, spelling: contract.Spelling) -> dict[str, list[Experiment]]:
    """Experiments by leaf partition directory, directories sorted, experiments by id."""
    leaves: dict[str, list[Experiment]] = defaultdict(list)
    for experiment in design.experiments:
        leaves[writer.partition_dir(tables.shared_values(experiment), spelling)].append(experiment)
    return {leaf: leaves[leaf] for leaf in sorted(leaves)}


def _folders(experiment: Experiment, kind: contract.Kind, layout: contract.Layout) -> list[str]:
    """The folders an experiment's rows go to: the complete one and one per sweep (the
    template); the current release's runs only in all_repetitions/, its summaries also
    in complete_executive_summary/ (written apart: its own schema)."""
    if layout == "current" and kind == "runs":
        return ["all_repetitions"]
    first = "all_runs" if kind == "runs" else "complete_summary"
    suffix = "runs" if kind == "runs" else "summary"
    return [first] + [f"{sweep}_sweep_{suffix}" for sweep in experiment.sweeps]


class _Leaf:
    """The files of one leaf partition across the 16 folders."""

    def __init__(self, root: Path, leaf: str, spelling: contract.Spelling, compression: str) -> None:
        self.root, self.leaf, self.spelling, self.compression = root, leaf, spelling, compression
        self.folders: dict[str, writer.PartitionFolder] = {}

    def write(self, folder: str, table) -> None:
        if folder not in self.folders:
            path = self.root / folder / self.leaf
            self.folders[folder] = writer.PartitionFolder(path, contract.folder_kind(folder), self.spelling,
                                                          self.compression, folder)
        self.folders[folder].write(table)

    def close(self, counts: dict[str, dict[str, int]]) -> None:
        for folder, files in self.folders.items():
            files.close()
            counts[folder]["files"] += files.files
            counts[folder]["rows"] += files.rows


def _write_experiment(leaf: _Leaf, experiment: Experiment, plan: traps_mod.TrapPlan, runs: int,
                      base_epochs: int, seed: int, layout: contract.Layout) -> None:
    """Simulate an experiment's runs and write its run rows and summary row."""
    spelling = leaf.spelling
    shared = tables.shared_values(experiment, layout)
    trained = plan.trained_runs(experiment.experiment_id, runs)
    _, num_free_parameters = tables.experiment_network(experiment)
    batch = curves.simulate(experiment, num_free_parameters, trained, base_epochs, seed)
    traps_mod.apply(plan, experiment, batch)
    exported = plan.exported_runs(experiment.experiment_id, trained)
    if exported:
        schema = writer.file_schema("runs", spelling)
        values = tables.run_values(experiment, batch, exported, layout)
        table = tables.build_table(schema, "runs", spelling, shared, values, len(exported))
        for folder in _folders(experiment, "runs", layout):
            leaf.write(folder, table)
    if plan.has_summary(experiment.experiment_id):
        schema = writer.file_schema("summary", spelling)
        stats = summary.summarize(batch.metrics)
        if layout == "current":
            best = summary.best_points(batch.metrics)
            traps_mod.plant(plan, experiment, best, experiment.setting.epochs)
            stats.update(best)
        row = tables.summary_row(schema, spelling, shared, stats)
        for folder in _folders(experiment, "summary", layout):
            leaf.write(folder, row)
        if layout == "current":
            executive = writer.file_schema("summary", spelling, contract.EXECUTIVE_FOLDER)
            as_lists = {name: [value] for name, value in best.items()}  # [float32], as the page writes it
            leaf.write(contract.EXECUTIVE_FOLDER, tables.summary_row(executive, spelling, shared,
                                                                      {**stats, **as_lists}))


def _optimizer_design(design: Design) -> dict | None:
    """The optimizer sweep's values in the manifest (None in the template layout)."""
    members = [e.setting for e in design.experiments if "optimizer" in e.sweeps]
    if not members:
        return None
    return {
        "datasets": sorted({s.dataset for s in members}),
        "depths": sorted({s.depth for s in members}),
        "size_exponents": sorted({s.size_exponent for s in members}),
        "learning_rate_batch_size_pairs": [list(pair) for pair in sorted({(s.learning_rate, s.batch_size)
                                                                           for s in members})],
        "optimizers": [{"optimizer": o, "momentum": m} for o, m in
                       sorted({(s.optimizer, s.momentum) for s in members}, key=lambda v: (v[0], v[1] or 0.0))],
    }


def _manifest(design: Design, plan: traps_mod.TrapPlan, counts: dict[str, dict[str, int]],
              parameters: dict, traps: bool) -> dict:
    runs = parameters["runs_per_experiment"]
    layout = parameters["layout"]
    folders = contract.LAYOUT_FOLDERS[layout]
    runs_folder = next(f for f in folders if contract.folder_kind(f) == "runs")
    trained = {e.experiment_id: plan.trained_runs(e.experiment_id, runs) for e in design.experiments}
    runs_exported = sum(len(plan.exported_runs(eid, n)) for eid, n in trained.items())
    return {
        "generator": "butter_warehouse.demo",
        "manifest_version": MANIFEST_VERSION,
        "parameters": parameters,
        "design": {
            "scale": asdict(design.scale),
            "datasets": list(design.axes.datasets),
            "shapes": list(design.axes.shapes),
            "depths": list(design.axes.depths),
            "size_exponents": sorted(design.axes.sizes),
            "penalties": sorted(design.axes.penalties),
            "experiments_per_sweep": {
                s: sum(s in e.sweeps for e in design.experiments) for s in contract.SWEEPS
            },
            "double_descent_experiment_ids": [
                e.experiment_id for e in design.experiments
                if curves.has_double_descent(e, tables.experiment_network(e)[1], design.epochs)
            ],
            "optimizer_sweep": _optimizer_design(design),
        },
        "folders": list(folders),
        "runs_folder": runs_folder,
        "best_point_epoch_base": summary.BEST_POINT_EPOCH_BASE if layout == "current" else None,
        "files": {
            "compression": parameters["compression"],
            "compression_levels": dict(encoding.CODEC_LEVELS[parameters["compression"]]),
            "max_rows_per_file": dict(writer.MAX_FILE_ROWS),
            "data_page_version": encoding.page_version(parameters["compression"]),
        },
        "counts": {folder: dict(counts[folder]) for folder in folders},
        "totals": {
            "experiments": len(design.experiments),
            "runs_trained": sum(trained.values()),
            "runs_exported": runs_exported,
        },
        "traps": traps_mod.manifest_entries(plan, design) if traps else {},
    }


def generate(
    root: Path | str,
    *,
    layout: contract.Layout = "template",
    spelling: contract.Spelling | None = None,
    experiments: int = 100,
    runs_per_experiment: int = 3,
    epochs: int = contract.CORE_EPOCHS,
    seed: int = 0,
    progress: bool | None = None,
    traps: bool = True,
    compression: str = encoding.COMPRESSION,
) -> dict:
    """Write a deterministic demo copy of the BUTTER data under ``root``; return the manifest.

    ``layout`` is the template's (the default: ``all_runs/``, ``complete_summary/`` and
    seven sweeps' runs and summary folders, in the ``published`` or ``framework``
    spelling) or the current release's as NREL's dataset page documents it (``current``:
    every run in ``all_repetitions/``, ``complete_summary/``, eight sweeps' summaries
    with the optimizer sweep's and ``complete_executive_summary/``, in the ``current``
    spelling, with NREL's best-point distributions in every summary). The folders are
    ``contract.LAYOUT_FOLDERS[layout]``; ``spelling`` None is the layout's
    (``contract.LAYOUT_SPELLING``). The current layout's best-point epochs count from
    0 (``summary.BEST_POINT_EPOCH_BASE``, the manifest's ``best_point_epoch_base``);
    it holds the template's experiments (same ids and runs) plus the optimizer
    sweep's, whose ids follow.

    ``experiments`` is a target: the design grows its datasets, shapes, depths,
    sizes and penalties until it is as close as it gets without exceeding it (the
    smallest design with every sweep is ~90 experiments). ``epochs`` is the base
    training length, by default the real one (``contract.CORE_EPOCHS``, 3000); the
    300-epoch sweep trains max(2, epochs // 10) epochs and the 30k-epoch sweep epochs *
    10, so at the default every sweep trains as long as the real one (the one-run
    experiments of the traps train one run). The curves are drawn in base training
    lengths, so a shorter ``epochs`` gives the same shapes at a coarser grain. Files are written as NREL's export wrote them (see
    ``writer``): a leaf folder holds part-0.parquet, part-1.parquet, ... of at
    most 64 runs or 128 experiments each. The same arguments give
    byte-identical files. ``compression`` is NREL's ``brotli`` unless an engine
    cannot read it (``zstd`` for Spark, whose Hadoop has no Brotli codec). The demo
    is written into a new folder beside ``root``, its manifest last, then renamed to
    ``root``: a demo stopped part-way never appears there. ``root`` must be absent, an
    empty folder or a demo written earlier (replaced whole); a folder holding
    anything else (a download, the user's files) is refused, unchanged
    (``DemoTargetError``). ``progress`` shows runs written
    of total, rate and time left on stderr (None: when stderr is a terminal and
    CI is not set; see ``butter_warehouse.progress``).
    """
    if spelling is None and layout in contract.LAYOUTS:
        spelling = contract.LAYOUT_SPELLING[layout]
    _validate(layout, str(spelling), experiments, runs_per_experiment, epochs, traps)
    assert spelling is not None
    if compression not in encoding.CODEC_LEVELS:
        raise ValueError(f"compression must be one of {sorted(encoding.CODEC_LEVELS)}, not {compression!r}")
    final = Path(os.path.abspath(root))
    _check_target(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=f".{final.name}.demo-", dir=final.parent))
    try:
        manifest = _generate(root, final, layout, spelling, experiments, runs_per_experiment, epochs, seed,
                             progress, traps, compression)
        umask = os.umask(0)
        os.umask(umask)
        root.chmod(0o777 & ~umask)  # mkdtemp's 0700 otherwise
        _install(root, final)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return manifest


def _generate(root: Path, final: Path, layout: contract.Layout, spelling: contract.Spelling, experiments: int,
              runs_per_experiment: int, epochs: int, seed: int, progress: bool | None, traps: bool,
              compression: str) -> dict:
    """Write the demo into the new folder ``root`` (renamed to ``final`` by ``generate``), its
    manifest last."""
    the_design = design_mod.build_design(experiments, epochs, traps, layout)
    plan = traps_mod.plan(the_design) if traps else traps_mod.TrapPlan()
    folders = contract.LAYOUT_FOLDERS[layout]
    counts = {folder: {"files": 0, "rows": 0} for folder in folders}
    total_runs = sum(plan.trained_runs(e.experiment_id, runs_per_experiment) for e in the_design.experiments)
    with Progress(f"demo data in {final}", total=total_runs, unit="run", enabled=progress) as bar:
        for leaf_dir, members in _leaves(the_design, spelling).items():
            leaf = _Leaf(root, leaf_dir, spelling, compression)
            for experiment in members:
                _write_experiment(leaf, experiment, plan, runs_per_experiment, epochs, seed, layout)
                bar.update(plan.trained_runs(experiment.experiment_id, runs_per_experiment))
            leaf.close(counts)
    for folder in folders:
        writer.write_common_metadata(root / folder, contract.folder_kind(folder), spelling)
    parameters = {
        "layout": layout, "spelling": spelling, "seed": seed, "experiments_target": experiments,
        "runs_per_experiment": runs_per_experiment, "epochs": epochs,
        "epochs_300_epoch_sweep": design_mod.short_epochs(epochs),
        "epochs_30k_epoch_sweep": design_mod.long_epochs(epochs), "traps": traps,
        "compression": compression,
    }
    manifest = _manifest(the_design, plan, counts, parameters, traps)
    (root / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    return manifest
