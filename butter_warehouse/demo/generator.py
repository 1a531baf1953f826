"""Write a complete demo copy of the published BUTTER layout (see ``generate``)."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

from .. import contract, encoding
from ..progress import Progress
from . import curves, design as design_mod, summary, tables, traps as traps_mod, writer
from .design import Design, Experiment

MANIFEST_NAME = "_demo_manifest.json"
MANIFEST_VERSION = 2


def _validate(spelling: str, experiments: int, runs: int, epochs: int, traps: bool) -> None:
    if spelling not in contract.SPELLINGS:
        raise ValueError(f"spelling must be one of {contract.SPELLINGS}, not {spelling!r}")
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


def _clear(root: Path) -> None:
    """Remove what an earlier generation wrote, so the output depends only on the arguments."""
    for folder in contract.FOLDERS:
        if (root / folder).exists():
            shutil.rmtree(root / folder)
    (root / MANIFEST_NAME).unlink(missing_ok=True)


def _leaves(design: Design, spelling: contract.Spelling) -> dict[str, list[Experiment]]:
    """Experiments by leaf partition directory, directories sorted, experiments by id."""
    leaves: dict[str, list[Experiment]] = defaultdict(list)
    for experiment in design.experiments:
        leaves[writer.partition_dir(tables.shared_values(experiment), spelling)].append(experiment)
    return {leaf: leaves[leaf] for leaf in sorted(leaves)}


def _folders(experiment: Experiment, kind: contract.Kind) -> list[str]:
    """The folders an experiment's rows go to: the complete one and one per sweep."""
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
                                                          self.compression)
        self.folders[folder].write(table)

    def close(self, counts: dict[str, dict[str, int]]) -> None:
        for folder, files in self.folders.items():
            files.close()
            counts[folder]["files"] += files.files
            counts[folder]["rows"] += files.rows


def _write_experiment(leaf: _Leaf, experiment: Experiment, plan: traps_mod.TrapPlan, runs: int,
                      base_epochs: int, seed: int) -> None:
    """Simulate an experiment's runs and write its run rows and summary row."""
    spelling = leaf.spelling
    shared = tables.shared_values(experiment)
    trained = plan.trained_runs(experiment.experiment_id, runs)
    _, num_free_parameters = tables.experiment_network(experiment)
    batch = curves.simulate(experiment, num_free_parameters, trained, base_epochs, seed)
    traps_mod.apply(plan, experiment, batch)
    exported = plan.exported_runs(experiment.experiment_id, trained)
    if exported:
        schema = writer.file_schema("runs", spelling)
        values = tables.run_values(experiment, batch, exported)
        table = tables.build_table(schema, "runs", spelling, shared, values, len(exported))
        for folder in _folders(experiment, "runs"):
            leaf.write(folder, table)
    if plan.has_summary(experiment.experiment_id):
        schema = writer.file_schema("summary", spelling)
        row = tables.summary_row(schema, spelling, shared, summary.summarize(batch.metrics))
        for folder in _folders(experiment, "summary"):
            leaf.write(folder, row)


def _manifest(design: Design, plan: traps_mod.TrapPlan, counts: dict[str, dict[str, int]],
              parameters: dict, traps: bool) -> dict:
    runs = parameters["runs_per_experiment"]
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
                e.experiment_id for e in design.experiments if curves.has_double_descent(e)
            ],
        },
        "files": {
            "compression": parameters["compression"],
            "compression_levels": dict(encoding.CODEC_LEVELS[parameters["compression"]]),
            "max_rows_per_file": dict(writer.MAX_FILE_ROWS),
            "data_page_version": encoding.page_version(parameters["compression"]),
        },
        "counts": {folder: dict(counts[folder]) for folder in contract.FOLDERS},
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
    spelling: contract.Spelling = "published",
    experiments: int = 100,
    runs_per_experiment: int = 3,
    epochs: int = 30,
    seed: int = 0,
    progress: bool | None = None,
    traps: bool = True,
    compression: str = encoding.COMPRESSION,
) -> dict:
    """Write a deterministic demo copy of the BUTTER data under ``root``; return the manifest.

    ``experiments`` is a target: the design grows its datasets, shapes, depths,
    sizes and penalties until it is as close as it gets without exceeding it (the
    smallest design with every sweep is ~90 experiments). ``epochs`` is the base
    training length (the real 3000); the 300-epoch sweep trains max(2, epochs // 10)
    epochs and the 30k-epoch sweep epochs * 10 (the one-run experiments of the
    traps train one run). Files are written as NREL's export wrote them (see
    ``writer``): a leaf folder holds part-0.parquet, part-1.parquet, ... of at
    most 64 runs or 128 experiments each. The same arguments give
    byte-identical files. ``compression`` is NREL's ``brotli`` unless an engine
    cannot read it (``zstd`` for Spark, whose Hadoop has no Brotli codec). The 16 BUTTER folders and the manifest under ``root``
    are replaced; nothing else there is touched. ``progress`` shows runs written
    of total, rate and time left on stderr (None: when stderr is a terminal and
    CI is not set; see ``butter_warehouse.progress``).
    """
    _validate(spelling, experiments, runs_per_experiment, epochs, traps)
    if compression not in encoding.CODEC_LEVELS:
        raise ValueError(f"compression must be one of {sorted(encoding.CODEC_LEVELS)}, not {compression!r}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    _clear(root)
    the_design = design_mod.build_design(experiments, epochs, traps)
    plan = traps_mod.plan(the_design) if traps else traps_mod.TrapPlan()
    counts = {folder: {"files": 0, "rows": 0} for folder in contract.FOLDERS}
    total_runs = sum(plan.trained_runs(e.experiment_id, runs_per_experiment) for e in the_design.experiments)
    with Progress(f"demo data in {root}", total=total_runs, unit="run", enabled=progress) as bar:
        for leaf_dir, members in _leaves(the_design, spelling).items():
            leaf = _Leaf(root, leaf_dir, spelling, compression)
            for experiment in members:
                _write_experiment(leaf, experiment, plan, runs_per_experiment, epochs, seed)
                bar.update(plan.trained_runs(experiment.experiment_id, runs_per_experiment))
            leaf.close(counts)
    for folder in contract.FOLDERS:
        writer.write_common_metadata(root / folder, contract.folder_kind(folder), spelling)
    parameters = {
        "spelling": spelling, "seed": seed, "experiments_target": experiments,
        "runs_per_experiment": runs_per_experiment, "epochs": epochs,
        "epochs_300_epoch_sweep": design_mod.short_epochs(epochs),
        "epochs_30k_epoch_sweep": design_mod.long_epochs(epochs), "traps": traps,
        "compression": compression,
    }
    manifest = _manifest(the_design, plan, counts, parameters, traps)
    (root / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    return manifest
