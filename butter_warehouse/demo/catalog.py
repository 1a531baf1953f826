"""Fixed facts of the BUTTER study that the demo design draws from.

The study's facts have one source, the dbt project's seeds: the datasets (PMLB
sizes, the inputs and outputs BUTTER's networks had, how each was trained,
which are core) from ``seeds/butter_datasets.csv``, the shapes from
``butter_shapes.csv``, the depths from ``butter_depths.csv`` and the core values
from ``butter_sweeps.csv``. The other value sets are those of the published
sweeps (see the data contract); the learning-curve knobs are the demo's own.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

TaskType = Literal["regression", "binary_classification", "multiclass_classification"]
TASK_TYPES: tuple[TaskType, ...] = ("regression", "binary_classification", "multiclass_classification")


def task_type(text: str) -> TaskType:
    """A seed's ``task_type`` text as a ``TaskType`` (a clear error for any other text)."""
    for known in TASK_TYPES:
        if text == known:
            return known
    raise ValueError(f"unknown task_type {text!r} in seeds/butter_datasets.csv; expected one of {TASK_TYPES}")


@dataclass(frozen=True)
class DatasetInfo:
    """One PMLB dataset as BUTTER trained it, plus the demo's learning-curve knobs."""

    name: str
    task_type: TaskType
    observations: int
    inputs: int  # network input width
    outputs: int  # network output width
    difficulty: float  # best reachable test loss as a fraction of the chance loss
    best_accuracy: float  # best reachable test accuracy (classification)

    @property
    def is_regression(self) -> bool:
        return self.task_type == "regression"

    @property
    def num_classes(self) -> int:
        """Classes of a classification dataset (2 for binary); 1 for regression."""
        if self.task_type == "binary_classification":
            return 2
        return self.outputs

    @property
    def chance_loss(self) -> float:
        """Loss of an untrained predictor: MSE of standardized targets or log(classes)."""
        return 1.0 if self.is_regression else math.log(self.num_classes)

    @property
    def test_rows(self) -> int:
        """Rows in the 20% test split (accuracy is a multiple of 1/test_rows)."""
        return max(1, round(self.observations * TEST_SPLIT))

    @property
    def loss_name(self) -> str:
        if self.is_regression:
            return "mean_squared_error"
        if self.task_type == "binary_classification":
            return "binary_crossentropy"
        return "categorical_crossentropy"

    @property
    def output_activation(self) -> str:
        if self.is_regression:
            return "linear"
        return "sigmoid" if self.task_type == "binary_classification" else "softmax"


TEST_SPLIT = 0.2

#: the dbt project's seeds: the one source of the study's datasets, shapes, depths and core values
SEEDS_DIR = Path(__file__).resolve().parents[2] / "seeds"


def read_seed(name: str) -> list[dict[str, str]]:
    """The rows of ``seeds/<name>.csv`` (a clear error when the project's seeds are not beside the package)."""
    path = SEEDS_DIR / f"{name}.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"study facts: {path} not found; the demo reads the dbt project's seeds (install the project "
            "from its source checkout, e.g. `make install`)"
        )
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


#: demo-only learning-curve knobs per dataset: (difficulty, best_accuracy); the facts come from the seed
_DEMO_KNOBS: dict[str, tuple[float, float]] = {
    "529_pollen": (0.30, 0.0),
    "wine_quality_white": (0.62, 0.58),
    "connect_4": (0.38, 0.86),
    "537_houses": (0.22, 0.0),
    "sleep": (0.40, 0.74),
    "201_pol": (0.12, 0.96),
    "mnist": (0.04, 0.98),
    "nursery": (0.03, 0.99),
    "adult": (0.45, 0.85),
    "505_tecator": (0.10, 0.0),
    "294_satellite_image": (0.20, 0.90),
    "splice": (0.18, 0.95),
    "banana": (0.35, 0.0),
}
#: order in which the demo adds datasets: a regression and a classification one first
DATASET_ORDER: tuple[str, ...] = tuple(_DEMO_KNOBS)


def _datasets() -> tuple[dict[str, DatasetInfo], tuple[str, ...]]:
    rows = read_seed("butter_datasets")
    names = {row["dataset"] for row in rows}
    if names != set(_DEMO_KNOBS):
        raise ValueError(
            f"seeds/butter_datasets.csv and the demo's knobs disagree on the datasets: "
            f"{sorted(names ^ set(_DEMO_KNOBS))}"
        )
    by_name = {row["dataset"]: row for row in rows}
    infos = {
        name: DatasetInfo(
            name,
            task_type(by_name[name]["task_type"]),
            int(by_name[name]["num_observations"]),
            int(by_name[name]["num_model_inputs"]),
            int(by_name[name]["num_outputs"]),
            *_DEMO_KNOBS[name],
        )
        for name in DATASET_ORDER
    }
    core = tuple(row["dataset"] for row in rows if row["is_core"] == "true")
    return infos, core


DATASETS, CORE_DATASETS = _datasets()

#: datasets that the learning-rate, batch-size and regularization sweeps add to the core
EXTRA_SWEEP_DATASETS: tuple[str, ...] = ("nursery", "adult")

SHAPES: tuple[str, ...] = tuple(row["shape"] for row in read_seed("butter_shapes"))
CORE_SHAPES: tuple[str, ...] = tuple(row["shape"] for row in read_seed("butter_shapes") if row["is_core"] == "true")

DEPTHS: tuple[int, ...] = tuple(int(row["depth"]) for row in read_seed("butter_depths"))
#: order in which the demo adds depths
DEPTH_ORDER: tuple[int, ...] = (2, 4, 8, 3, 6, 10, 16, 5, 12, 20, 7, 9, 14, 18)
#: the batch-size and regularization sweeps use depths 2..10
MAX_SMALL_SWEEP_DEPTH = max(int(row["depth"]) for row in read_seed("butter_depths")
                            if row["is_small_sweep_depth"] == "true")

#: primary sizes are 2^5..2^25; the order in which the demo adds size exponents
SIZE_EXPONENT_ORDER: tuple[int, ...] = (
    12, 25, 8, 16, 5, 20, 14, 10, 18, 6, 22, 7, 9, 11, 13, 15, 17, 19, 21, 23, 24,
)
MAX_PRIMARY_SIZE_EXPONENT = 25
MAX_SUB_SWEEP_SIZE_EXPONENT = 24  # learning rate, label noise, batch size sweeps
EPOCH_300_SIZE_EXPONENTS: tuple[int, ...] = (25, 26, 27)
MAX_30K_SIZE_EXPONENT = 18

_CORE_VALUES: dict[str, str] = {row["sweep"]: row["core_value"] for row in read_seed("butter_sweeps")}
CORE_LEARNING_RATE = float(_CORE_VALUES["learning_rate"])
LEARNING_RATES: tuple[float, ...] = (0.01, 0.001, 0.0001, 0.00001)
CORE_BATCH_SIZE = int(_CORE_VALUES["batch_size"])
BATCH_SIZES: tuple[int, ...] = (32, 64, 128, 256, 512, 1024)
CORE_LABEL_NOISE = float(_CORE_VALUES["label_noise"])
LABEL_NOISES: tuple[float, ...] = (0.0, 0.05, 0.1, 0.15, 0.2)
#: learning rate 0.001 has only two label-noise levels
LABEL_NOISES_AT_HIGHER_RATE: tuple[float, ...] = (0.0, 0.05)
HIGHER_NOISE_RATE = 0.001
REGULARIZER_TYPES: tuple[str, ...] = ("l1", "l2")
#: 0.32, 0.16, ... halving down to 7.8125e-05
PENALTIES: tuple[float, ...] = tuple(0.32 / 2**k for k in range(13))
#: order in which the demo adds penalties (indexes into PENALTIES)
PENALTY_ORDER: tuple[int, ...] = (5, 0, 9, 2, 7, 12, 3, 10, 1, 6, 11, 4, 8)

#: the optimizer sweep's grid (current release only): optimizers as the ``optimizer`` column names
#: them with their momentum (None: adam has none), learning rates and batch sizes
CORE_OPTIMIZER = _CORE_VALUES["optimizer"]
OPTIMIZER_VARIANTS: tuple[tuple[str, float | None], ...] = (
    (CORE_OPTIMIZER, None), ("RMSprop", 0.0), ("RMSprop", 0.9), ("SGD", 0.0), ("SGD", 0.9),
)
OPTIMIZER_LEARNING_RATES: tuple[float, ...] = LEARNING_RATES
OPTIMIZER_BATCH_SIZES: tuple[int, ...] = (32, 64, 128, 256)
OPTIMIZER_DEPTHS: tuple[int, int] = (2, 6)  # smallest and largest depth
#: the (learning rate, batch size) pairs of the grid the demo trains every optimizer variant at
OPTIMIZER_GROUPS: tuple[tuple[float, int], ...] = tuple(
    (lr, batch) for lr, batch in ((0.0001, 256), (0.001, 256), (0.0001, 32))
    if lr in OPTIMIZER_LEARNING_RATES and batch in OPTIMIZER_BATCH_SIZES
)
#: Keras's class name of each optimizer (the ``class_name`` of a run's ``command``)
KERAS_OPTIMIZER_CLASSES: dict[str, str] = {CORE_OPTIMIZER: "Adam", "RMSprop": "RMSprop", "SGD": "SGD"}

# run metadata constants
#: the template layout's ``optimizer`` column (every experiment trained with Adam)
OPTIMIZER = "Adam"
ACTIVATION = "relu"
TASK = "AspectTestTask"
TASK_VERSION = 3
TEST_SPLIT_METHOD = "shuffled"
PYTHON_VERSIONS: tuple[str, ...] = ("3.7.10", "3.8.5")
TENSORFLOW_VERSIONS: tuple[str, ...] = ("2.4.1", "2.6.0")
PLATFORM = "Linux-3.10.0-1160.el7.x86_64-x86_64-with-glibc2.17"
GIT_HASH = "6f1c0d2b9a8e47c3b5d2f0a1e9c8b7a6d5e4f3a2"
HOSTNAMES: tuple[str, ...] = tuple(f"r{rack}i{node}n{slot}" for rack in (1, 3, 5) for node in (2, 7) for slot in (4, 9))
#: runs started during 2021 (unix seconds)
FIRST_START_TIME = 1_609_459_200
START_TIME_SPAN = 31_536_000
