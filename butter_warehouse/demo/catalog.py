"""Fixed facts of the BUTTER study that the demo design draws from.

Dataset facts mirror ``seeds/butter_datasets.csv`` (PMLB sizes, the inputs and
outputs BUTTER's networks had, and how each dataset was trained); the value sets
are those of the published sweeps (see the data contract).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

TaskType = Literal["regression", "binary_classification", "multiclass_classification"]


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

DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in (
        DatasetInfo("529_pollen", "regression", 3848, 4, 1, 0.30, 0.0),
        DatasetInfo("wine_quality_white", "multiclass_classification", 4898, 11, 7, 0.62, 0.58),
        DatasetInfo("connect_4", "multiclass_classification", 67557, 126, 3, 0.38, 0.86),
        DatasetInfo("537_houses", "regression", 20640, 8, 1, 0.22, 0.0),
        DatasetInfo("sleep", "multiclass_classification", 105908, 141, 5, 0.40, 0.74),
        DatasetInfo("201_pol", "multiclass_classification", 15000, 26, 11, 0.12, 0.96),
        DatasetInfo("mnist", "multiclass_classification", 70000, 784, 10, 0.04, 0.98),
        DatasetInfo("nursery", "multiclass_classification", 12958, 26, 4, 0.03, 0.99),
        DatasetInfo("adult", "binary_classification", 48842, 81, 1, 0.45, 0.85),
        DatasetInfo("505_tecator", "regression", 240, 124, 1, 0.10, 0.0),
        DatasetInfo("294_satellite_image", "multiclass_classification", 6435, 36, 6, 0.20, 0.90),
        DatasetInfo("splice", "multiclass_classification", 3188, 287, 3, 0.18, 0.95),
        DatasetInfo("banana", "regression", 5300, 2, 1, 0.35, 0.0),
    )
}

CORE_DATASETS: tuple[str, ...] = (
    "529_pollen", "connect_4", "537_houses", "mnist", "201_pol", "sleep", "wine_quality_white",
)
#: datasets that the learning-rate, batch-size and regularization sweeps add to the core
EXTRA_SWEEP_DATASETS: tuple[str, ...] = ("nursery", "adult")
#: order in which the demo adds datasets: a regression and a classification one first
DATASET_ORDER: tuple[str, ...] = (
    "529_pollen", "wine_quality_white", "connect_4", "537_houses", "sleep", "201_pol", "mnist",
    "nursery", "adult", "505_tecator", "294_satellite_image", "splice", "banana",
)

SHAPES: tuple[str, ...] = (
    "rectangle", "trapezoid", "exponential", "wide_first_2x",
    "rectangle_residual", "wide_first_4x", "wide_first_8x", "wide_first_16x",
)
CORE_SHAPES: tuple[str, ...] = SHAPES[:4]

DEPTHS: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 18, 20)
#: order in which the demo adds depths
DEPTH_ORDER: tuple[int, ...] = (2, 4, 8, 3, 6, 10, 16, 5, 12, 20, 7, 9, 14, 18)
#: the batch-size and regularization sweeps use depths 2..10
MAX_SMALL_SWEEP_DEPTH = 10

#: primary sizes are 2^5..2^25; the order in which the demo adds size exponents
SIZE_EXPONENT_ORDER: tuple[int, ...] = (
    12, 25, 8, 16, 5, 20, 14, 10, 18, 6, 22, 7, 9, 11, 13, 15, 17, 19, 21, 23, 24,
)
MAX_PRIMARY_SIZE_EXPONENT = 25
MAX_SUB_SWEEP_SIZE_EXPONENT = 24  # learning rate, label noise, batch size sweeps
EPOCH_300_SIZE_EXPONENTS: tuple[int, ...] = (25, 26, 27)
MAX_30K_SIZE_EXPONENT = 18

CORE_LEARNING_RATE = 0.0001
LEARNING_RATES: tuple[float, ...] = (0.01, 0.001, 0.0001, 0.00001)
CORE_BATCH_SIZE = 256
BATCH_SIZES: tuple[int, ...] = (32, 64, 128, 256, 512, 1024)
CORE_LABEL_NOISE = 0.0
LABEL_NOISES: tuple[float, ...] = (0.0, 0.05, 0.1, 0.15, 0.2)
#: learning rate 0.001 has only two label-noise levels
LABEL_NOISES_AT_HIGHER_RATE: tuple[float, ...] = (0.0, 0.05)
HIGHER_NOISE_RATE = 0.001
REGULARIZER_TYPES: tuple[str, ...] = ("l1", "l2")
#: 0.32, 0.16, ... halving down to 7.8125e-05
PENALTIES: tuple[float, ...] = tuple(0.32 / 2**k for k in range(13))
#: order in which the demo adds penalties (indexes into PENALTIES)
PENALTY_ORDER: tuple[int, ...] = (5, 0, 9, 2, 7, 12, 3, 10, 1, 6, 11, 4, 8)

# run metadata constants
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
