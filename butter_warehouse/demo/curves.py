"""Plausible per-epoch learning curves for the runs of one experiment.

All runs of an experiment are simulated together as (runs, epochs) float64
matrices and stored as float32. The model, in units of the base training length
(t = epoch / base epochs):

* data loss = floor + (start - floor) * exp(-rate * t), with multiplicative noise;
  the floor falls with network size and rises with label noise, regularization and
  a too-high learning rate; the rate rises with learning rate and size and falls
  with batch size and depth;
* the optimizer sweep's variants train at their own speed: RMSprop a little slower
  than adam, faster and noisier with momentum 0.9; SGD much slower without
  momentum, slower than adam with it;
* the test loss drifts up slightly late in training for large networks on small
  datasets, and some experiments show epoch-wise double descent: the first descent
  ends on a plateau, the loss rises in a bump, then falls below the plateau (planted
  only where the training has room for it: ``has_double_descent``);
* loss = data loss + a regularization term; accuracies follow the data loss and are
  multiples of 1/rows; the other metrics are derived from the data loss.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypedDict

import numpy as np

from .. import contract
from . import catalog as cat
from .design import Experiment

#: canonical run metric names: test_loss, train_loss, test_accuracy, ...
METRIC_NAMES: tuple[str, ...] = tuple(
    f"{split}_{metric}" for metric in contract.RUN_METRICS for split in ("test", "train")
)


@dataclass
class RunBatch:
    """The simulated runs of one experiment (all trained runs, exported or not)."""

    run_ids: list[str]
    seeds: np.ndarray  # int64 (runs,)
    start_times: np.ndarray  # int64 (runs,)
    update_times: np.ndarray  # int64 (runs,)
    hostnames: list[str]
    python_versions: list[str]
    tensorflow_versions: list[str]
    metrics: dict[str, np.ndarray]  # canonical name -> float32 (runs, epochs)
    #: canonical name -> bool (runs, epochs): elements written as NULL (their value in ``metrics`` is NaN)
    nulls: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def num_runs(self) -> int:
        return len(self.run_ids)

    def set_null(self, metric: str, run: int, epochs: Sequence[int] | np.ndarray | slice) -> None:
        """Make a run's values at some 0-based epochs NULL elements (not finite, like NaN)."""
        matrix = self.metrics[metric]
        mask = self.nulls.setdefault(metric, np.zeros(matrix.shape, dtype=bool))
        matrix[run, epochs] = np.nan
        mask[run, epochs] = True

    def masked(self, metric: str, rows: np.ndarray) -> np.ndarray:
        """The selected runs' values of a metric, as a masked array when some elements are NULL."""
        values = self.metrics[metric][rows]
        if metric not in self.nulls:
            return values
        return np.ma.masked_array(values, mask=self.nulls[metric][rows])


def run_id(seed: int, experiment_id: int, run_index: int) -> str:
    """A deterministic uuid-like run id."""
    digest = hashlib.blake2b(f"butter-demo:{seed}:{experiment_id}:{run_index}".encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest, version=4))


#: where an epoch-wise double-descent bump sits, in base training lengths: its centre is no
#: earlier than DOUBLE_DESCENT_EARLIEST, and two widths before it the first descent is within
#: DOUBLE_DESCENT_SETTLED of its floor (relative), so that the bump rises from a curve that has
#: stopped falling fast; it is DOUBLE_DESCENT_WIDTH wide (a normal curve's sigma) and needs
#: DOUBLE_DESCENT_ROOM widths of training after its centre
DOUBLE_DESCENT_EARLIEST = 0.35
DOUBLE_DESCENT_SETTLED = 0.1
DOUBLE_DESCENT_WIDTH = 0.07
DOUBLE_DESCENT_ROOM = 3
#: the bump's height and the second descent's depth, as shares of the loss the curve would
#: have without them
DOUBLE_DESCENT_HEIGHT = 0.4
DOUBLE_DESCENT_DEPTH = 0.15
#: the fewest epochs a bump's width (DOUBLE_DESCENT_WIDTH) spans: a narrower one is not planted,
#: as it would be a spike of an epoch or two, which the double-descent rule does not count
DOUBLE_DESCENT_MIN_WIDTH_EPOCHS = 2.0


def _double_descent_candidate(experiment: Experiment) -> bool:
    """Whether the design gives the experiment a double-descent bump, if its curve has room."""
    s = experiment.setting
    high_noise = s.label_noise >= 0.2 and s.learning_rate == cat.CORE_LEARNING_RATE
    return high_noise or experiment.experiment_id % 23 == 5


def _double_descent_centre(experiment: Experiment, start: float, floor: float, rate: float,
                           base_epochs: int) -> float | None:
    """Where the experiment's double-descent bump is centred (in base training lengths), or
    None when it has none: not a candidate, or its training is too short or too coarse for one.
    ``start``, ``floor`` and ``rate`` are its test loss's (``_CurveParams``)."""
    if not _double_descent_candidate(experiment):
        return None
    excess = max(start - floor, DOUBLE_DESCENT_SETTLED * floor)  # the first descent's drop
    settled = math.log(excess / (DOUBLE_DESCENT_SETTLED * floor)) / rate + 2 * DOUBLE_DESCENT_WIDTH
    centre = max(DOUBLE_DESCENT_EARLIEST, settled)
    span = experiment.setting.epochs / base_epochs
    room = DOUBLE_DESCENT_ROOM * DOUBLE_DESCENT_WIDTH
    if centre + room > span or DOUBLE_DESCENT_WIDTH * base_epochs < DOUBLE_DESCENT_MIN_WIDTH_EPOCHS:
        return None
    return centre


def has_double_descent(experiment: Experiment, num_free_parameters: int, base_epochs: int) -> bool:
    """Whether the experiment's test loss shows an epoch-wise double-descent bump: it falls to a
    plateau, rises by DOUBLE_DESCENT_HEIGHT, then falls below the plateau."""
    info = cat.DATASETS[experiment.setting.dataset]
    return _curve_params(experiment, info, num_free_parameters, base_epochs).bump_centre is not None


def _capacity(num_free_parameters: int) -> float:
    """Network size on a 0..1.1 scale (2^5 -> 0, 2^27 -> 1.1)."""
    return float(np.clip((math.log2(max(num_free_parameters, 2)) - 5) / 20, 0.0, 1.2))


def _regularization_strength(kind: str | None, penalty: float) -> float:
    """0 (none) .. 1 (the penalty dominates the fit)."""
    if kind is None:
        return 0.0
    half = 0.004 if kind == "l1" else 0.02
    return penalty / (penalty + half)


#: (convergence speed, extra per-epoch noise) of each optimizer variant relative to adam (demo knobs)
OPTIMIZER_KNOBS: dict[tuple[str, float | None], tuple[float, float]] = {
    ("RMSprop", 0.0): (0.8, 0.0),
    ("RMSprop", 0.9): (1.15, 0.02),
    ("SGD", 0.0): (0.08, 0.0),
    ("SGD", 0.9): (0.45, 0.01),
}


@dataclass(frozen=True)
class _CurveParams:
    start: float  # loss at epoch 0
    floor: float  # best test data loss
    train_floor: float
    rate: float  # convergence rate per base training length
    overfit: float  # late rise of the test loss
    bump_centre: float | None  # where the double-descent bump is centred (base training lengths; None: none)
    noise: float  # per-epoch multiplicative noise of the test loss
    train_noise: float
    unstable: bool  # learning rate high enough for loss spikes


def _curve_params(experiment: Experiment, info: cat.DatasetInfo, num_free_parameters: int,
                  base_epochs: int) -> _CurveParams:
    s = experiment.setting
    chance = info.chance_loss
    cap = _capacity(num_free_parameters)
    lr_ratio = s.learning_rate / cat.CORE_LEARNING_RATE
    unstable = lr_ratio >= 100
    floor = chance * info.difficulty * (1.3 - 0.5 * cap) * (1.35 if unstable else 1.0)
    floor += chance * 0.6 * s.label_noise
    floor += (chance - floor) * 0.9 * _regularization_strength(s.regularizer, s.penalty)
    train_floor = floor * (1 - 0.6 * min(cap, 1.0)) * 0.85 + chance * 0.5 * s.label_noise
    rate = 5.0 * lr_ratio**0.6 * (cat.CORE_BATCH_SIZE / s.batch_size) ** 0.35 * (0.6 + 0.8 * cap)
    rate /= 1 + 0.03 * (s.depth - 2)
    noise = 0.02 + (0.05 if unstable else 0.0) + (0.03 if info.observations < 1000 else 0.0)
    if s.optimizer != cat.CORE_OPTIMIZER:
        speed, extra_noise = OPTIMIZER_KNOBS[(s.optimizer, s.momentum)]
        rate, noise = rate * speed, noise + extra_noise
    small_data = info.observations < 10_000
    start = chance * 1.1
    return _CurveParams(
        start=start,
        floor=floor,
        train_floor=train_floor,
        rate=rate,
        overfit=floor * 0.3 * cap * (1.0 if small_data else 0.4),
        bump_centre=_double_descent_centre(experiment, start, floor, rate, base_epochs),
        noise=noise,
        train_noise=0.01 + (0.03 if unstable else 0.0),
        unstable=unstable,
    )


def _losses(p: _CurveParams, t: np.ndarray, runs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Test and train data losses (runs, epochs), float64, > 0."""
    floor = p.floor * np.exp(rng.normal(0.0, 0.04, (runs, 1)))
    train_floor = p.train_floor * np.exp(rng.normal(0.0, 0.04, (runs, 1)))
    rate = p.rate * np.exp(rng.normal(0.0, 0.12, (runs, 1)))
    test = floor + (p.start - floor) * np.exp(-rate * t) + p.overfit * (1 - np.exp(-rate * t / 4))
    if p.bump_centre is not None:  # a plateau, a bump on it, then the plateau's release
        bump = np.exp(-0.5 * ((t - p.bump_centre) / DOUBLE_DESCENT_WIDTH) ** 2)
        release = 1 / (1 + np.exp(-(t - p.bump_centre - DOUBLE_DESCENT_WIDTH) * 3 / DOUBLE_DESCENT_WIDTH))
        test = test * (1 + DOUBLE_DESCENT_DEPTH * (1 - release)) * (1 + DOUBLE_DESCENT_HEIGHT * bump)
    train = train_floor + (p.start - train_floor) * np.exp(-rate * 1.15 * t)
    test = test * np.exp(p.noise * rng.standard_normal(test.shape))
    train = train * np.exp(p.train_noise * rng.standard_normal(train.shape))
    if p.unstable:
        spikes = rng.random(test.shape) < 0.01
        test = np.where(spikes, test * (1 + 2 * rng.random(test.shape)), test)
    return test, train


def _regularization_term(experiment: Experiment, num_free_parameters: int, progress: np.ndarray) -> np.ndarray:
    """The penalty added to the loss: shrinks as the weights settle."""
    s = experiment.setting
    if s.regularizer is None:
        return np.zeros_like(progress)
    scale = math.log2(num_free_parameters) / (10 if s.regularizer == "l1" else 40)
    return s.penalty * scale * (0.4 + 0.6 * (1 - progress))


def _progress(data_loss: np.ndarray, p: _CurveParams, info: cat.DatasetInfo) -> np.ndarray:
    """How far training got: 0 at the start loss, 1 at the dataset's best loss."""
    best = info.chance_loss * info.difficulty * 0.7
    return np.clip((p.start - data_loss) / (p.start - best), 0.0, 1.0)


def _accuracy(progress: np.ndarray, info: cat.DatasetInfo, rows: int, best: float,
              rng: np.random.Generator) -> np.ndarray:
    """Accuracy as a multiple of 1/rows; near zero (meaningless) for regression."""
    if info.is_regression:
        return np.round(np.abs(rng.normal(0.0, 2.0, progress.shape))) / rows
    chance = 1.0 / info.num_classes
    accuracy = chance + (best - chance) * progress**0.8 + rng.normal(0.0, 0.004, progress.shape)
    return np.clip(np.round(accuracy * rows) / rows, 0.0, 1.0)


def _regression_metrics(mse: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    rmse = np.sqrt(mse)
    hinge = 0.55 + 0.4 * np.minimum(mse, 1.0)
    return {
        "mean_squared_error": mse,
        "mean_absolute_error": 0.8 * rmse * np.exp(rng.normal(0.0, 0.02, mse.shape)),
        "root_mean_squared_error": rmse,
        "mean_squared_logarithmic_error": 0.12 * mse * np.exp(rng.normal(0.0, 0.05, mse.shape)),
        "hinge": hinge,
        "squared_hinge": hinge**2 + 0.1 * mse,
        "cosine_similarity": np.clip(1 - 0.8 * np.minimum(mse, 1.25) + rng.normal(0.0, 0.01, mse.shape), -1, 1),
        "kullback_leibler_divergence": 0.05 * mse,
    }


def _classification_metrics(cross_entropy: np.ndarray, info: cat.DatasetInfo) -> dict[str, np.ndarray]:
    q = np.exp(-cross_entropy)  # geometric-mean probability of the true class
    miss = 1 - q
    if info.task_type == "binary_classification":
        mse, mae = miss**2, miss
        hinge = 1 - 0.5 * q
        squared_hinge = hinge**2 + 0.05
        cosine = 0.5 + 0.25 * q
    else:
        k = info.num_classes
        mse = (miss**2 + miss**2 / (k - 1)) / k
        mae = 2 * miss / k
        hinge = (2 * miss + (k - 1)) / k
        squared_hinge = (miss**2 + (k - 1) * (1 + miss / (k - 1)) ** 2) / k
        cosine = q / np.sqrt(q**2 + miss**2 / (k - 1))
    return {
        "mean_squared_error": mse,
        "mean_absolute_error": mae,
        "root_mean_squared_error": np.sqrt(mse),
        "mean_squared_logarithmic_error": 0.45 * mse,
        "hinge": hinge,
        "squared_hinge": squared_hinge,
        "cosine_similarity": cosine,
        "kullback_leibler_divergence": cross_entropy,
    }


def _split_metrics(data_loss: np.ndarray, reg: np.ndarray, accuracy: np.ndarray, info: cat.DatasetInfo,
                   rng: np.random.Generator) -> dict[str, np.ndarray]:
    """All ten metrics of one split, float64."""
    derived = _regression_metrics(data_loss, rng) if info.is_regression else _classification_metrics(data_loss, info)
    return {"loss": data_loss + reg, "accuracy": accuracy, **derived}


class _RunMetadata(TypedDict):
    """The per-run fields of a ``RunBatch`` besides its ids and metrics."""

    seeds: np.ndarray
    start_times: np.ndarray
    update_times: np.ndarray
    hostnames: list[str]
    python_versions: list[str]
    tensorflow_versions: list[str]


def _run_metadata(experiment: Experiment, runs: int, num_free_parameters: int, info: cat.DatasetInfo,
                  rng: np.random.Generator) -> _RunMetadata:
    s = experiment.setting
    seeds = rng.integers(0, 2**31 - 1, runs, dtype=np.int64)
    starts = cat.FIRST_START_TIME + rng.integers(0, cat.START_TIME_SPAN, runs, dtype=np.int64)
    per_epoch = 0.01 * (1 + num_free_parameters / 2**20) * (info.observations / 5000) * (256 / s.batch_size) ** 0.5
    durations = np.ceil(s.epochs * per_epoch * rng.uniform(0.9, 1.1, runs)).astype(np.int64) + 5
    hosts = rng.integers(0, len(cat.HOSTNAMES), runs)
    versions = rng.integers(0, len(cat.PYTHON_VERSIONS), runs)
    return {
        "seeds": seeds,
        "start_times": starts,
        "update_times": starts + durations,
        "hostnames": [cat.HOSTNAMES[i] for i in hosts],
        "python_versions": [cat.PYTHON_VERSIONS[i] for i in versions],
        "tensorflow_versions": [cat.TENSORFLOW_VERSIONS[i] for i in versions],
    }


def simulate(experiment: Experiment, num_free_parameters: int, runs: int, base_epochs: int, seed: int) -> RunBatch:
    """Every trained run of an experiment; deterministic in (seed, experiment_id)."""
    rng = np.random.default_rng([seed, experiment.experiment_id])
    info = cat.DATASETS[experiment.setting.dataset]
    t = np.arange(1, experiment.setting.epochs + 1, dtype=np.float64) / base_epochs
    params = _curve_params(experiment, info, num_free_parameters, base_epochs)
    test_data, train_data = _losses(params, t, runs, rng)
    metadata = _run_metadata(experiment, runs, num_free_parameters, info, rng)
    test_progress, train_progress = _progress(test_data, params, info), _progress(train_data, params, info)
    reg = _regularization_term(experiment, num_free_parameters, train_progress)
    cap = _capacity(num_free_parameters)
    train_rows = info.observations - info.test_rows
    test_acc = _accuracy(test_progress, info, info.test_rows, info.best_accuracy, rng)
    train_acc = _accuracy(train_progress, info, train_rows, min(1.0, info.best_accuracy + 0.1 * cap), rng)
    splits = {
        "test": _split_metrics(test_data, reg, test_acc, info, rng),
        "train": _split_metrics(train_data, reg, train_acc, info, rng),
    }
    metrics = {
        f"{split}_{metric}": values[metric].astype(np.float32)
        for metric in contract.RUN_METRICS
        for split, values in splits.items()
    }
    return RunBatch(
        run_ids=[run_id(seed, experiment.experiment_id, i) for i in range(runs)],
        metrics=metrics,
        **metadata,
    )
