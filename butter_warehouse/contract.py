"""The published BUTTER data layout and schema, as data.

This module is the single source of truth for:

* the demo generator (which must write exactly this layout and these arrow types),
* the generated dbt files (source column declarations, staging column docs and the
  ``butter_columns`` macro that drives the staging rename/cast).

Every column has one *canonical* warehouse name (what staging outputs) and the names
it is stored under in the two spellings found in the wild:

* ``published``: the OEDI export (``val_loss``, ``loss``, ``kernel_regularizer.type``,
  ``primary_sweep`` ...);
* ``framework``: the framework's later exports (``test_loss``, ``train_loss``,
  ``kernel_regularizer_type``, extra ``_q1``/``_q3`` summary arrays and an
  ``optimizer_sweep`` flag);
* ``current``: NREL's current release as its dataset page documents it, spelled per
  column: the run arrays keep the Keras names (``val_loss``), everything else is
  the framework's (``kernel_regularizer_l1``, ``test_loss_q1``, ``optimizer_sweep``)
  and its summaries add NREL's best-point distributions
  (``test_loss_min_epoch_median`` ...).

Two layouts hold these folders (``LAYOUT_FOLDERS``): the template's sixteen folders
(``all_runs/``, ``complete_summary/``, seven sweeps' runs and summaries) and the
current release's (``all_repetitions/``, ``complete_summary/``,
``complete_executive_summary/`` and eight sweeps' summaries). A data root may hold
any mix of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

Spelling = Literal["published", "framework", "current"]
SPELLINGS: tuple[Spelling, ...] = ("published", "framework", "current")
Layout = Literal["template", "current"]
LAYOUTS: tuple[Layout, ...] = ("template", "current")
Kind = Literal["runs", "summary"]

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"

@dataclass(frozen=True)
class Sweep:
    """One BUTTER sweep: the study facts every other place takes from here.

    ``butter codegen`` writes them into ``seeds/butter_sweeps.csv`` (with the flag
    column and folders that follow from the name), the macros ``butter_sweeps`` and
    ``butter_swept_parameters`` (sweep_comparisons picks its comparison rule by the
    swept parameter) and the sweep list of docs/warehouse-interface.md; the
    folders and the ``is_<sweep>_sweep`` columns follow from the name."""

    name: str
    #: the hyperparameter the sweep varies (a comparison rule in models/marts/sweep_comparisons.sql)
    swept_parameter: str
    #: the value other values are compared with, as text ("" when the sweep has none)
    core_value: str
    #: runs (seeds) per experiment
    repetitions: int
    description: str
    comparison_rule: str


#: the eight sweeps, in the order the published data lists them (the optimizer sweep: current release only)
SWEEP_FACTS: tuple[Sweep, ...] = (
    Sweep(
        name='primary',
        swept_parameter='size',
        core_value='',
        repetitions=30,
        description=(
            'All 13 datasets, 8 shapes and 14 depths at sizes 2^5..2^25 trainable parameters, 3000 '
            'epochs; learning rate 0.0001, batch size 256, no regularization and no label noise held '
            'fixed.'
        ),
        comparison_rule=(
            'Sizes are compared within the same dataset, shape and depth (every other hyperparameter '
            'equal); there is no core value, so is_core_value is false and delta_vs_core is NULL.'
        ),
    ),
    Sweep(
        name='300_epoch',
        swept_parameter='epochs',
        core_value='3000',
        repetitions=10,
        description=(
            'Extends the primary sweep to the largest sizes 2^25..2^27 trained for 300 epochs (core '
            'datasets and shapes, 10 repetitions for rectangle, 0-10 for other shapes); learning rate '
            '0.0001, batch size 256, no regularization, no label noise.'
        ),
        comparison_rule=(
            'Each 300-epoch experiment is compared with the 3000-epoch experiment of the same setting '
            '(every other hyperparameter equal), which is the core value; that core experiment belongs '
            'to the primary sweep.'
        ),
    ),
    Sweep(
        name='30k_epoch',
        swept_parameter='epochs',
        core_value='3000',
        repetitions=10,
        description=(
            'Extends the primary sweep to 30000 training epochs for sizes 2^5..2^18 (core datasets and '
            'shapes, 10 repetitions for rectangle, 0-10 for other shapes); learning rate 0.0001, batch '
            'size 256, no regularization, no label noise.'
        ),
        comparison_rule=(
            'Each 30000-epoch experiment is compared with the 3000-epoch experiment of the same setting'
            ' (every other hyperparameter equal), which is the core value; that core experiment belongs'
            ' to the primary sweep.'
        ),
    ),
    Sweep(
        name='learning_rate',
        swept_parameter='learning_rate',
        core_value='0.0001',
        repetitions=20,
        description=(
            'Learning rate in {0.01, 0.001, 0.0001, 0.00001} over the core shapes, sizes 2^5..2^24 and '
            'core datasets plus nursery and adult; batch size 256, no regularization, no label noise, '
            '3000 epochs held fixed.'
        ),
        comparison_rule=(
            'Learning rates are compared within a group of experiments equal in every other '
            'hyperparameter; the core value is learning rate 0.0001.'
        ),
    ),
    Sweep(
        name='label_noise',
        swept_parameter='label_noise',
        core_value='0',
        repetitions=30,
        description=(
            'Label noise in {0, 0.05, 0.1, 0.15, 0.2} at learning rate 0.0001 and {0, 0.05} at learning'
            ' rate 0.001, over the core shapes, sizes 2^5..2^24 and core datasets; batch size 256, no '
            'regularization, 3000 epochs held fixed.'
        ),
        comparison_rule=(
            'Noise levels are compared within a group equal in every other hyperparameter, so groups '
            "are also split by learning rate; the core value is label noise 0 at the group's own "
            'learning rate.'
        ),
    ),
    Sweep(
        name='batch_size',
        swept_parameter='batch_size',
        core_value='256',
        repetitions=30,
        description=(
            'Batch size in {32, 64, 128, 256, 512, 1024} for rectangle networks of depths 2..10, sizes '
            '2^5..2^24, core datasets plus nursery and adult; learning rate 0.0001, no regularization, '
            'no label noise, 3000 epochs held fixed.'
        ),
        comparison_rule=(
            'Batch sizes are compared within a group equal in every other hyperparameter; the core '
            'value is batch size 256.'
        ),
    ),
    Sweep(
        name='regularization',
        swept_parameter='kernel_regularizer',
        core_value='none',
        repetitions=30,
        description=(
            'L1 or L2 kernel penalty in {0, 0.32, 0.16, ..., 7.8125e-5} (halving) for rectangle '
            'networks of depths 2..10, sizes 2^5..2^25, core datasets plus nursery and adult; learning '
            'rate 0.0001, batch size 256, no label noise, 3000 epochs held fixed.'
        ),
        comparison_rule=(
            'The swept value is the penalty type and size together: L1 and L2 experiments of one '
            'setting (every other hyperparameter equal) share a group whose core is the unregularized '
            'experiment (value none).'
        ),
    ),
    Sweep(
        name='optimizer',
        swept_parameter='optimizer',
        core_value='adam',
        repetitions=20,
        description=(
            'Optimizer in {adam, RMSprop, SGD} with momentum 0 or 0.9, learning rate in {0.01, 0.001, '
            '0.0001, 0.00001} and batch size in {32, 64, 128, 256}, for rectangle networks of depths '
            '2..6, sizes 2^5..2^24, all 13 datasets; no regularization, no label noise, 3000 epochs held '
            'fixed. Published in the current release only.'
        ),
        comparison_rule=(
            'Optimizers (with their momentum, read from the run settings where the data carries it) '
            'are compared within a group equal in every other hyperparameter, learning rate and batch '
            'size included; the core value is adam.'
        ),
    ),
)
SWEEPS: tuple[str, ...] = tuple(s.name for s in SWEEP_FACTS)
#: the study's standard training length: the epoch sweeps' core value (3000)
CORE_EPOCHS: int = int(next(s.core_value for s in SWEEP_FACTS if s.swept_parameter == "epochs"))

#: the folders holding every sweep's rows: runs (the template's and the current
#: release's name; copies of each other when both exist) and summaries
ALL_SWEEPS_RUN_FOLDERS: tuple[str, ...] = ("all_runs", "all_repetitions")
ALL_SWEEPS_SUMMARY_FOLDERS: tuple[str, ...] = ("complete_summary",)
#: the current release's small summary copy: the summary's columns without the
#: per-epoch arrays, except the test-loss quartiles (``Column.executive``)
EXECUTIVE_FOLDER = "complete_executive_summary"

#: every folder the warehouse reads, in the order a copy is preferred (the
#: all-sweeps folders first, the executive summary, which lacks most arrays, last)
RUN_FOLDERS: tuple[str, ...] = ALL_SWEEPS_RUN_FOLDERS + tuple(f"{s}_sweep_runs" for s in SWEEPS)
SUMMARY_FOLDERS: tuple[str, ...] = (
    ALL_SWEEPS_SUMMARY_FOLDERS + tuple(f"{s}_sweep_summary" for s in SWEEPS) + (EXECUTIVE_FOLDER,)
)
FOLDERS: tuple[str, ...] = RUN_FOLDERS + SUMMARY_FOLDERS

#: the folders of each layout in the wild (what ``butter demo --layout`` writes)
LAYOUT_FOLDERS: dict[Layout, tuple[str, ...]] = {
    "template": tuple(
        f for f in FOLDERS
        if f not in ("all_repetitions", EXECUTIVE_FOLDER) and not f.startswith("optimizer_sweep_")
    ),
    "current": ("all_repetitions", "complete_summary")
    + tuple(f"{s}_sweep_summary" for s in SWEEPS) + (EXECUTIVE_FOLDER,),
}
#: the spelling each layout's files use
LAYOUT_SPELLING: dict[Layout, Spelling] = {"template": "published", "current": "current"}
#: the sweeps each layout publishes
LAYOUT_SWEEPS: dict[Layout, tuple[str, ...]] = {
    "template": tuple(s for s in SWEEPS if s != "optimizer"),
    "current": SWEEPS,
}
#: files beside the folders that NREL publishes as archives of some of them
ARCHIVE_SUFFIXES: tuple[str, ...] = (".tar", ".tar.xz", ".tar.gz", ".tgz", ".zip")


def folder_kind(folder: str) -> Kind:
    """Whether a published folder holds runs or experiment summaries."""
    if folder in RUN_FOLDERS:
        return "runs"
    if folder in SUMMARY_FOLDERS:
        return "summary"
    raise ValueError(f"unknown BUTTER folder {folder!r}; expected one of {FOLDERS}")


def folder_sweep(folder: str) -> str | None:
    """The sweep a per-sweep folder belongs to (None for the all-sweeps folders)."""
    for sweep in SWEEPS:
        if folder.startswith(f"{sweep}_sweep_"):
            return sweep
    return None


def is_all_sweeps_folder(folder: str) -> bool:
    """A folder holding the rows of every sweep (all_runs, all_repetitions,
    complete_summary, complete_executive_summary)."""
    return folder in ALL_SWEEPS_RUN_FOLDERS + ALL_SWEEPS_SUMMARY_FOLDERS + (EXECUTIVE_FOLDER,)


@dataclass(frozen=True)
class Column:
    """One column of the published data and its warehouse spelling."""

    name: str  # canonical warehouse (staging) name
    published: str | None  # name in the published export (None: not present there)
    framework: str | None  # name in the framework export (None: not present there)
    arrow: pa.DataType  # arrow type as published
    sql_type: str  # DuckDB type staging casts to
    description: str
    partition: bool = False  # stored in the hive path only, not in the files
    transform: str | None = None  # name of a dbt macro applied to the source column
    #: the current release keeps this column's published (Keras) name: the run arrays
    keras: bool = False
    #: a column some exports lack although two spellings name it (NULL where absent)
    optional: bool = False
    #: present in complete_executive_summary/ (the shared columns, num_runs, the
    #: test-loss quartile arrays and the best-point distributions)
    executive: bool = True

    def source_name(self, spelling: Spelling) -> str | None:
        if spelling == "published":
            return self.published
        if spelling == "current" and self.keras:
            return self.published
        return self.framework

    def stored_name(self, spelling: Spelling) -> str:
        """``source_name`` of a column every spelling has (a partition, a required column)."""
        name = self.source_name(spelling)
        if name is None:
            raise ValueError(f"column {self.name} has no {spelling} spelling")
        return name

    @property
    def required(self) -> bool:
        """A column present in both spellings must be present in every folder
        (complete_executive_summary/: only the ``executive`` ones)."""
        return self.published is not None and self.framework is not None and not self.optional

    def arrow_in(self, folder: str | None) -> pa.DataType:
        """The arrow type ``folder`` stores: the executive summary writes NREL's best-point
        statistics as the page documents them, one-element lists (``[float32]``)."""
        if folder == EXECUTIVE_FOLDER and self.transform == "butter_first_if_list":
            return pa.list_(self.arrow)
        return self.arrow

    def required_in(self, folder: str) -> bool:
        """Whether every file of ``folder`` must store this column."""
        return self.required and (folder != EXECUTIVE_FOLDER or self.executive)


# --- partitions ---------------------------------------------------------------------

#: partition folders, in the published order (published spelling)
PARTITION_ORDER: tuple[str, ...] = (
    "dataset",
    "learning_rate",
    "batch_size",
    "kernel_regularizer.type",
    "label_noise",
    "epochs",
    "shape",
    "depth",
)


def _same(name: str, arrow: pa.DataType, sql_type: str, description: str, **kw) -> Column:
    return Column(name, name, name, arrow, sql_type, description, **kw)


def _dotted(name: str, arrow: pa.DataType, sql_type: str, description: str, **kw) -> Column:
    canonical = name.replace(".", "_")
    return Column(canonical, name, canonical, arrow, sql_type, description, **kw)


FLOAT_LIST = pa.list_(pa.float32())

# --- columns shared by runs and summaries ---------------------------------------------

SHARED_COLUMNS: tuple[Column, ...] = (
    _same("experiment_id", pa.uint32(), "uinteger", "Identifier of the experiment: one distinct hyperparameter setting."),
    *(
        Column(
            f"is_{s}_sweep",
            f"{s}_sweep",
            f"{s}_sweep",
            pa.bool_(),
            "boolean",
            f"True when the experiment belongs to the {s.replace('_', ' ')} sweep (an experiment can be in several sweeps).",
        )
        for s in SWEEPS if s != "optimizer"
    ),
    Column(
        "is_optimizer_sweep",
        None,
        "optimizer_sweep",
        pa.bool_(),
        "boolean",
        "True when the experiment belongs to the optimizer sweep (current release and framework spelling; "
        "NULL when the source folder does not carry the flag).",
    ),
    _same("activation", pa.string(), "varchar", "Activation function of the hidden layers (relu throughout BUTTER)."),
    Column("experimental_batch", "batch", "batch", pa.string(), "varchar", "Nickname of the experimental batch the experiment was queued in (published column `batch`; not the minibatch size)."),
    _same("batch_size", pa.uint32(), "uinteger", "Minibatch size used for training.", partition=True),
    _same("dataset", pa.string(), "varchar", "PMLB dataset the network was trained on.", partition=True),
    _same("depth", pa.uint8(), "utinyint", "Number of layers of the network.", partition=True),
    _same("early_stopping", pa.string(), "varchar", "Early-stopping setting as exported (NULL or a JSON text when none was used)."),
    _same("epochs", pa.uint32(), "uinteger", "Number of training epochs; every per-epoch array has this length.", partition=True),
    _same("input_activation", pa.string(), "varchar", "Activation of the input layer."),
    _same("kernel_regularizer", pa.string(), "varchar", "Kernel regularizer setting as exported (NULL when none)."),
    _dotted("kernel_regularizer.l1", pa.float32(), "float", "L1 penalty of the kernel regularizer (0 or NULL when not L1)."),
    _dotted("kernel_regularizer.l2", pa.float32(), "float", "L2 penalty of the kernel regularizer (0 or NULL when not L2)."),
    _dotted("kernel_regularizer.type", pa.string(), "varchar", "Kernel regularizer type (l1, l2; NULL when unregularized).", partition=True),
    _same("label_noise", pa.float32(), "float", "Fraction of training labels replaced by noise.", partition=True),
    _same("learning_rate", pa.float32(), "float", "Learning rate of the optimizer.", partition=True),
    _same("optimizer", pa.string(), "varchar", "Optimizer: adam, except in the optimizer sweep (adam, RMSprop, SGD); its momentum is read from `command`."),
    _same("output_activation", pa.string(), "varchar", "Activation of the output layer (depends on the task)."),
    _same("shape", pa.string(), "varchar", "Network shape: how layer widths vary with depth.", partition=True),
    _same("size", pa.uint64(), "ubigint", "Target number of trainable parameters (a power of two).", ),
    _same("task", pa.string(), "varchar", "Training task of the framework."),
    _same("test_split", pa.float32(), "float", "Fraction of the data held out as the test split (0.2)."),
    _same("test_split_method", pa.string(), "varchar", "How the test split was drawn (shuffled)."),
    _same("num_free_parameters", pa.uint64(), "ubigint", "Exact number of trainable parameters of the network."),
    _same("widths", pa.list_(pa.uint32()), "uinteger[]", "Widths of the layers, input side first."),
    _same("network_structure", pa.string(), "varchar", "Network structure as a JSON text."),
)

# --- runs ---------------------------------------------------------------------------

RUN_METRICS: tuple[str, ...] = (
    "loss",
    "accuracy",
    "mean_squared_error",
    "mean_absolute_error",
    "root_mean_squared_error",
    "mean_squared_logarithmic_error",
    "hinge",
    "squared_hinge",
    "cosine_similarity",
    "kullback_leibler_divergence",
)


def _run_metric_columns() -> tuple[Column, ...]:
    cols: list[Column] = []
    for metric in RUN_METRICS:
        for split, published in (("test", f"val_{metric}"), ("train", metric)):
            split_text = "test split (20%)" if split == "test" else "training split"
            cols.append(
                Column(
                    f"{split}_{metric}",
                    published,
                    f"{split}_{metric}",
                    FLOAT_LIST,
                    "float[]",
                    f"Per-epoch {metric.replace('_', ' ')} on the {split_text}; element i is epoch i (1-based); length = epochs.",
                    keras=True,
                )
            )
    return tuple(cols)


RUN_ONLY_COLUMNS: tuple[Column, ...] = (
    _same("run_id", pa.string(), "varchar", "Identifier of the run: one repetition (seed) of an experiment."),
    _same("python_version", pa.string(), "varchar", "Python version of the worker that trained the run."),
    _same("task_version", pa.uint16(), "usmallint", "Version of the training task code."),
    _same("tensorflow_version", pa.string(), "varchar", "TensorFlow version of the worker."),
    _same("platform", pa.string(), "varchar", "Platform string of the worker."),
    _same("git_hash", pa.string(), "varchar", "Git commit of the training framework."),
    _same("hostname", pa.string(), "varchar", "Host that trained the run."),
    _same("seed", pa.int64(), "bigint", "Random seed of the run."),
    Column("started_at", "start_time", "start_time", pa.int64(), "timestamp with time zone", "When the run started (published as unix seconds `start_time`).", transform="butter_from_unix_seconds"),
    Column("updated_at", "update_time", "update_time", pa.int64(), "timestamp with time zone", "When the run record was last updated (published as unix seconds `update_time`).", transform="butter_from_unix_seconds"),
    _same("command", pa.string(), "varchar", "The run's settings as a JSON text."),
) + _run_metric_columns()

# --- summaries ----------------------------------------------------------------------

#: statistic arrays published per summary metric; q1/q3 exist in the framework spelling only
SUMMARY_STATS: dict[str, tuple[str, ...]] = {
    "test_loss": ("num_finite", "avg", "stddev", "min", "max", "median"),
    "train_loss": ("num_finite", "avg", "stddev", "min", "max", "median"),
    "test_accuracy": ("avg", "stddev", "median"),
    "train_accuracy": ("avg", "stddev", "median"),
    "test_mean_squared_error": ("avg", "stddev", "median"),
    "train_mean_squared_error": ("avg", "stddev", "median"),
    "test_kullback_leibler_divergence": ("avg", "stddev", "median"),
    "train_kullback_leibler_divergence": ("avg", "stddev", "median"),
}
QUARTILE_STATS: tuple[str, ...] = ("q1", "q3")
#: the per-epoch arrays complete_executive_summary/ keeps
EXECUTIVE_ARRAYS: tuple[str, ...] = ("test_loss_q1", "test_loss_median", "test_loss_q3")

_STAT_TEXT = {
    "num_finite": "number of runs whose value is finite",
    "avg": "mean over the runs",
    "stddev": "standard deviation over the runs",
    "min": "minimum over the runs",
    "max": "maximum over the runs",
    "median": "median over the runs",
    "q1": "first quartile over the runs",
    "q3": "third quartile over the runs",
}


def _summary_stat_columns() -> tuple[Column, ...]:
    cols: list[Column] = []
    for metric, stats in SUMMARY_STATS.items():
        for stat in stats + QUARTILE_STATS:
            name = f"{metric}_{stat}"
            arrow = pa.list_(pa.uint8()) if stat == "num_finite" else FLOAT_LIST
            sql_type = "utinyint[]" if stat == "num_finite" else "float[]"
            cols.append(
                Column(
                    name,
                    None if stat in QUARTILE_STATS else name,
                    name,
                    arrow,
                    sql_type,
                    f"Per-epoch {_STAT_TEXT[stat]} of {metric.replace('_', ' ')}; element i is epoch i (1-based)."
                    + (" Framework and current spelling only; NULL for published folders." if stat in QUARTILE_STATS else ""),
                    executive=name in EXECUTIVE_ARRAYS,
                )
            )
    return tuple(cols)


#: NREL's best-point distributions (current release summaries): for each metric,
#: the direction of its best value; each experiment carries the distribution over
#: its runs of the epoch of each run's best value and of that value
BEST_POINT_METRICS: dict[str, Literal["min", "max"]] = {
    "test_loss": "min",
    "test_accuracy": "max",
    "test_mean_squared_error": "min",
    "test_kullback_leibler_divergence": "min",
}
BEST_POINT_PARTS: tuple[str, ...] = ("epoch", "value")
BEST_POINT_STATS: tuple[str, ...] = ("min", "q1", "median", "q3", "max", "avg")
_BEST_POINT_STAT_TEXT = {"min": "smallest", "q1": "first quartile", "median": "median", "q3": "third quartile",
                         "max": "largest", "avg": "mean"}
#: the prefix that says a best-point column is NREL's published figure, not the warehouse's own:
#: ``test_loss_min_epoch_median`` is staged as ``nrel_best_test_loss_epoch_median``, beside the
#: warehouse's ``best_test_loss_epoch_median`` computed from the runs (marts.experiment_best_epochs)
NREL_PREFIX = "nrel_"


def best_point_name(metric: str, part: str, stat: str) -> str:
    """NREL's column name of one best-point statistic (``test_loss_min_epoch_median``)."""
    return f"{metric}_{BEST_POINT_METRICS[metric]}_{part}_{stat}"


def _best_point_columns() -> tuple[Column, ...]:
    cols: list[Column] = []
    for metric, direction in BEST_POINT_METRICS.items():
        best = "lowest" if direction == "min" else "highest"
        for part in BEST_POINT_PARTS:
            what = (f"the epoch of each run's {best} {metric.replace('_', ' ')}" if part == "epoch"
                    else f"each run's {best} {metric.replace('_', ' ')}")
            for stat in BEST_POINT_STATS:
                name = best_point_name(metric, part, stat)
                canonical = f"{NREL_PREFIX}best_{metric}{'_epoch' if part == 'epoch' else ''}_{stat}"
                cols.append(Column(
                    canonical, None, name, pa.float32(), "float",
                    f"NREL's published {_BEST_POINT_STAT_TEXT[stat]} over the experiment's runs of {what}"
                    + (" (its epoch base, 0 or 1, is not documented: audit.best_point_epoch_base states the one detected)"
                       if part == "epoch" else "")
                    + ". Current release only (float32, or a one-element list); NULL where not published.",
                    transform="butter_first_if_list",
                ))
    return tuple(cols)


SUMMARY_ONLY_COLUMNS: tuple[Column, ...] = (
    _same("num_runs", pa.uint8(), "utinyint", "Number of runs aggregated into this summary, as published."),
    Column("num_runs_at_epoch", "num", "num", pa.list_(pa.uint8()), "utinyint[]",
           "Per-epoch number of runs present (published column `num`).", executive=False),
) + _summary_stat_columns() + _best_point_columns()


def columns(kind: Kind) -> tuple[Column, ...]:
    """All columns of a runs or summary folder, in canonical (staging) order."""
    if kind == "runs":
        return RUN_ONLY_COLUMNS[:1] + SHARED_COLUMNS + RUN_ONLY_COLUMNS[1:]
    return SHARED_COLUMNS + SUMMARY_ONLY_COLUMNS


def arrow_schema(kind: Kind, spelling: Spelling, folder: str | None = None) -> pa.Schema:
    """The full arrow schema of a folder (what ``_common_metadata`` holds);
    ``folder`` narrows it to what that folder stores (the executive summary)."""
    fields = [
        pa.field(col.source_name(spelling), col.arrow_in(folder))
        for col in columns(kind)
        if col.source_name(spelling) is not None
        and (spelling == "current" or not col.name.startswith(NREL_PREFIX))
        and (folder != EXECUTIVE_FOLDER or col.executive)
    ]
    return pa.schema(fields)


def partition_names(spelling: Spelling) -> tuple[str, ...]:
    """Partition folder names in the published order, in the given spelling."""
    by_published = {c.published: c for c in SHARED_COLUMNS if c.partition}
    return tuple(by_published[p].stored_name(spelling) for p in PARTITION_ORDER)


def file_schema(kind: Kind, spelling: Spelling, folder: str | None = None) -> pa.Schema:
    """The schema of the parquet files themselves (partition columns live in the path)."""
    parts = set(partition_names(spelling))
    schema = arrow_schema(kind, spelling, folder)
    return pa.schema([f for f in schema if f.name not in parts])
