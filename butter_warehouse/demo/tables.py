"""Column values of an experiment and its runs, and arrow tables in the contract's schema.

Values are keyed by canonical (warehouse) column names; the contract maps them to
the spelling being written, so the file schema always comes from contract.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache

import numpy as np
import pyarrow as pa

from .. import contract
from . import catalog as cat, network
from .curves import RunBatch
from .design import Experiment


@cache
def canonical_names(kind: contract.Kind, spelling: contract.Spelling) -> dict[str, str]:
    """Stored column name -> canonical name, for one kind and spelling."""
    return {stored: c.name for c in contract.columns(kind) if (stored := c.source_name(spelling)) is not None}


def experiment_network(experiment: Experiment) -> tuple[tuple[int, ...], int]:
    """Layer widths and exact parameter count of an experiment's network."""
    s = experiment.setting
    info = cat.DATASETS[s.dataset]
    widths = network.fit_widths(s.shape, s.depth, s.size, info.inputs, info.outputs)
    return widths, network.count_parameters(widths, info.inputs)


def optimizer_value(experiment: Experiment, layout: contract.Layout) -> str:
    """The ``optimizer`` column: the template's ``Adam``; the current release's adam, RMSprop or SGD."""
    return cat.OPTIMIZER if layout == "template" else experiment.setting.optimizer


def optimizer_command(experiment: Experiment, layout: contract.Layout) -> dict[str, object]:
    """The optimizer of a run's ``command`` as Keras serialises it: class name and config
    (learning rate; momentum for RMSprop and SGD, which adam has not)."""
    s = experiment.setting
    if layout == "template":
        return {"class_name": cat.OPTIMIZER, "config": {"learning_rate": s.learning_rate}}
    config: dict[str, object] = {"learning_rate": s.learning_rate}
    if s.momentum is not None:
        config["momentum"] = s.momentum
    return {"class_name": cat.KERAS_OPTIMIZER_CLASSES[s.optimizer], "config": config}


def shared_values(experiment: Experiment, layout: contract.Layout = "template") -> dict[str, object]:
    """Values of the columns shared by runs and summaries (canonical names)."""
    s = experiment.setting
    info = cat.DATASETS[s.dataset]
    widths, params = experiment_network(experiment)
    values: dict[str, object] = {f"is_{sweep}_sweep": sweep in experiment.sweeps for sweep in contract.SWEEPS}
    values.update(
        experiment_id=experiment.experiment_id,
        is_optimizer_sweep="optimizer" in experiment.sweeps,
        activation=cat.ACTIVATION,
        experimental_batch=experiment.experimental_batch,
        batch_size=s.batch_size,
        dataset=s.dataset,
        depth=s.depth,
        early_stopping=None,
        epochs=s.epochs,
        input_activation=cat.ACTIVATION,
        kernel_regularizer=network.kernel_regularizer_json(s.regularizer, s.penalty),
        kernel_regularizer_l1=s.penalty if s.regularizer == "l1" else 0.0,
        kernel_regularizer_l2=s.penalty if s.regularizer == "l2" else 0.0,
        kernel_regularizer_type=s.regularizer,
        label_noise=s.label_noise,
        learning_rate=s.learning_rate,
        optimizer=optimizer_value(experiment, layout),
        output_activation=info.output_activation,
        shape=s.shape,
        size=s.size,
        task=cat.TASK,
        test_split=cat.TEST_SPLIT,
        test_split_method=cat.TEST_SPLIT_METHOD,
        num_free_parameters=params,
        widths=list(widths),
        network_structure=network.network_structure(s.shape, widths, info),
    )
    return values


def run_command(experiment: Experiment, seed: int, layout: contract.Layout = "template") -> str:
    """The JSON text of a run's settings."""
    s = experiment.setting
    info = cat.DATASETS[s.dataset]
    return network.dumps({
        "activation": cat.ACTIVATION,
        "batch_size": s.batch_size,
        "dataset": s.dataset,
        "depth": s.depth,
        "early_stopping": None,
        "epochs": s.epochs,
        "kernel_regularizer": None if s.regularizer is None else {"type": s.regularizer, s.regularizer: s.penalty},
        "label_noise": s.label_noise,
        "loss": info.loss_name,
        "optimizer": optimizer_command(experiment, layout),
        "output_activation": info.output_activation,
        "seed": seed,
        "shape": s.shape,
        "size": s.size,
        "task": cat.TASK,
        "test_split": cat.TEST_SPLIT,
        "test_split_method": cat.TEST_SPLIT_METHOD,
    })


def run_values(experiment: Experiment, batch: RunBatch, rows: Sequence[int],
               layout: contract.Layout = "template") -> dict[str, object]:
    """Per-row values of the run-only columns for the selected run indexes."""
    index = np.asarray(rows, dtype=np.intp)
    values: dict[str, object] = {
        "run_id": [batch.run_ids[i] for i in rows],
        "python_version": [batch.python_versions[i] for i in rows],
        "task_version": [cat.TASK_VERSION] * len(rows),
        "tensorflow_version": [batch.tensorflow_versions[i] for i in rows],
        "platform": [cat.PLATFORM] * len(rows),
        "git_hash": [cat.GIT_HASH] * len(rows),
        "hostname": [batch.hostnames[i] for i in rows],
        "seed": batch.seeds[index],
        "started_at": batch.start_times[index],
        "updated_at": batch.update_times[index],
        "command": [run_command(experiment, int(batch.seeds[i]), layout) for i in rows],
    }
    values.update({name: batch.masked(name, index) for name in batch.metrics})
    return values


def list_array(matrix: np.ndarray, type_: pa.ListType) -> pa.ListArray:
    """A list array with one row per matrix row (all of the same length).

    The masked elements of a masked array become NULL elements; NaN and +/-inf stay as they are.
    """
    rows, length = matrix.shape
    offsets = pa.array(np.arange(rows + 1, dtype=np.int32) * length, type=pa.int32())
    data = np.ascontiguousarray(np.ma.getdata(matrix)).ravel()
    mask = np.ma.getmaskarray(matrix).ravel() if np.ma.isMaskedArray(matrix) else None
    values = pa.array(data, type=type_.value_type, mask=mask)
    return pa.ListArray.from_arrays(offsets, values, type=type_)


def _column(value: object, type_: pa.DataType, rows: int, per_row: bool) -> pa.Array:
    if per_row and isinstance(value, np.ndarray) and value.ndim == 2:
        return list_array(value, type_)
    if per_row:
        return pa.array(value, type=type_)
    return pa.array([value] * rows, type=type_)


def build_table(schema: pa.Schema, kind: contract.Kind, spelling: contract.Spelling,
                shared: Mapping[str, object], per_row: Mapping[str, object], rows: int) -> pa.Table:
    """A table with exactly ``schema``; ``shared`` values repeat on every row.

    A schema column missing from both mappings raises KeyError, so a contract
    change cannot silently produce a file without that column.
    """
    names = canonical_names(kind, spelling)
    arrays = []
    for field in schema:
        canonical = names[field.name]
        if canonical in per_row:
            arrays.append(_column(per_row[canonical], field.type, rows, per_row=True))
        else:
            arrays.append(_column(shared[canonical], field.type, rows, per_row=False))
    return pa.Table.from_arrays(arrays, schema=schema)


def summary_row(schema: pa.Schema, spelling: contract.Spelling, shared: Mapping[str, object],
                stats: Mapping[str, object]) -> pa.Table:
    """The one-row summary table of an experiment."""
    per_row = {k: (v[None, :] if isinstance(v, np.ndarray) else [v]) for k, v in stats.items()}
    return build_table(schema, "summary", spelling, shared, per_row, 1)
