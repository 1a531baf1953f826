"""The demo's experiment design: which hyperparameter settings exist, in which sweeps.

Each sweep is built around the core setting (lr 0.0001, batch 256, no
regularization, no label noise, base epochs) over a subset of datasets, shapes,
depths and sizes. A setting produced by several sweeps is one experiment flagged
in all of them (e.g. the lr=0.0001 member of the learning-rate sweep is a
primary experiment). :func:`build_design` grows the subsets until the number of
experiments is as close to the requested target as possible without exceeding it
(the smallest design, with every sweep present, may exceed a tiny target).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from .. import contract
from . import catalog as cat


@dataclass(frozen=True)
class Setting:
    """One distinct hyperparameter setting (an experiment's identity)."""

    dataset: str
    shape: str
    depth: int
    size_exponent: int
    learning_rate: float
    batch_size: int
    regularizer: str | None  # "l1", "l2" or None
    penalty: float  # 0.0 when unregularized
    label_noise: float
    epochs: int
    #: the optimizer as the ``optimizer`` column names it (adam, RMSprop, SGD) and its momentum
    #: (None for adam, which has none); only the optimizer sweep varies them
    optimizer: str = cat.CORE_OPTIMIZER
    momentum: float | None = None

    @property
    def size(self) -> int:
        return 2**self.size_exponent

    def sort_key(self) -> tuple:
        """A total order (None sorts before any regularizer type)."""
        return (
            self.dataset, self.shape, self.depth, self.size_exponent, self.learning_rate,
            self.batch_size, self.regularizer or "", self.penalty, self.label_noise, self.epochs,
            self.optimizer, -1.0 if self.momentum is None else self.momentum,
        )


@dataclass(frozen=True)
class Experiment:
    """A setting with its id, the sweeps that flag it and its experimental batch."""

    experiment_id: int
    setting: Setting
    sweeps: tuple[str, ...]  # in contract.SWEEPS order
    experimental_batch: str


@dataclass(frozen=True)
class Scale:
    """How many values of each axis the design uses (see the *_ORDER tuples)."""

    datasets: int = 2
    shapes: int = 2
    depths: int = 2
    sizes: int = 2
    penalties: int = 1


MIN_SCALE = Scale()
#: one primary size exponent is kept free for the no-core learning-rate trap group
MAX_SCALE = Scale(
    datasets=len(cat.DATASET_ORDER),
    shapes=len(cat.SHAPES),
    depths=len(cat.DEPTH_ORDER),
    sizes=len(cat.SIZE_EXPONENT_ORDER) - 1,
    penalties=len(cat.PENALTY_ORDER),
)
#: the order in which build_design grows the axes
GROWTH_ORDER: tuple[str, ...] = ("depths", "sizes", "datasets", "shapes", "penalties")

EXPERIMENTAL_BATCHES: dict[str, str] = {
    "primary": "fixed_3k_1",
    "300_epoch": "fixed_300_1",
    "30k_epoch": "fixed_30k_1",
    "learning_rate": "lr_sweep_1",
    "label_noise": "label_noise_1",
    "batch_size": "batch_size_1",
    "regularization": "regularization_1",
    "optimizer": "optimizer_1",
}
#: experimental batch of the learning-rate group that has no lr=0.0001 member
NO_CORE_BATCH = "lr_sweep_2"


@dataclass(frozen=True)
class Axes:
    """The concrete values a scale selects."""

    datasets: tuple[str, ...]
    shapes: tuple[str, ...]
    depths: tuple[int, ...]
    sizes: tuple[int, ...]  # size exponents, in SIZE_EXPONENT_ORDER order
    penalties: tuple[float, ...]

    @classmethod
    def of(cls, scale: Scale) -> Axes:
        return cls(
            datasets=cat.DATASET_ORDER[: scale.datasets],
            shapes=cat.SHAPES[: scale.shapes],
            depths=cat.DEPTH_ORDER[: scale.depths],
            sizes=cat.SIZE_EXPONENT_ORDER[: scale.sizes],
            penalties=tuple(cat.PENALTIES[i] for i in cat.PENALTY_ORDER[: scale.penalties]),
        )


@dataclass(frozen=True)
class Design:
    """The experiments of one demo dataset."""

    scale: Scale
    axes: Axes
    epochs: int  # base training length
    experiments: tuple[Experiment, ...]
    no_core_group_ids: tuple[int, ...]  # the learning-rate group without lr=0.0001
    layout: contract.Layout = "template"


def short_epochs(epochs: int) -> int:
    """Training length of the 300-epoch sweep for a base length (3000 -> 300)."""
    return max(2, epochs // 10)


def long_epochs(epochs: int) -> int:
    """Training length of the 30k-epoch sweep for a base length (3000 -> 30000)."""
    return epochs * 10


def _half(values: Sequence, minimum: int = 1) -> tuple:
    """The first half (rounded up) of an ordered value list, at least ``minimum``."""
    return tuple(values[: max(minimum, (len(values) + 1) // 2)])


def _core(dataset: str, shape: str, depth: int, size_exponent: int, epochs: int) -> Setting:
    return Setting(
        dataset=dataset, shape=shape, depth=depth, size_exponent=size_exponent,
        learning_rate=cat.CORE_LEARNING_RATE, batch_size=cat.CORE_BATCH_SIZE,
        regularizer=None, penalty=0.0, label_noise=cat.CORE_LABEL_NOISE, epochs=epochs,
    )


def _grid(datasets: Iterable[str], shapes: Iterable[str], depths: Iterable[int],
          sizes: Iterable[int], epochs: int) -> list[Setting]:
    """Core settings over the product of the given axes."""
    sizes, depths, shapes = tuple(sizes), tuple(depths), tuple(shapes)
    return [_core(d, s, p, z, epochs) for d in datasets for s in shapes for p in depths for z in sizes]


def _sub_sweep_axes(axes: Axes) -> dict[str, tuple]:
    """Subsets of the primary axes that the other sweeps use."""
    sub_sizes = tuple(z for z in axes.sizes if z <= cat.MAX_SUB_SWEEP_SIZE_EXPONENT)
    wide_datasets = tuple(d for d in axes.datasets if d in cat.CORE_DATASETS + cat.EXTRA_SWEEP_DATASETS)
    core_datasets = tuple(d for d in axes.datasets if d in cat.CORE_DATASETS)
    lr_shapes = _half([s for s in axes.shapes if s in cat.CORE_SHAPES])
    return {
        "sub_sizes": sub_sizes,
        "wide_datasets": wide_datasets,
        "core_datasets": core_datasets,
        "lr_shapes": lr_shapes,
        "lr_sizes": _half(sub_sizes),
        "noise_shapes": _half(lr_shapes),
        "noise_sizes": _half(_half(sub_sizes)),
        "small_depths": tuple(p for p in axes.depths if p <= cat.MAX_SMALL_SWEEP_DEPTH) or axes.depths[:1],
        "long_sizes": _half([z for z in axes.sizes if z <= cat.MAX_30K_SIZE_EXPONENT]),
    }


def sweep_settings(axes: Axes, epochs: int) -> dict[str, list[Setting]]:
    """The settings of every sweep (a setting may appear in several sweeps)."""
    sub = _sub_sweep_axes(axes)
    rect = ("rectangle",)
    learning_rate = [
        replace(s, learning_rate=lr)
        for s in _grid(sub["wide_datasets"], sub["lr_shapes"], axes.depths, sub["lr_sizes"], epochs)
        for lr in cat.LEARNING_RATES
    ]
    noise_grid = _grid(sub["core_datasets"], sub["noise_shapes"], axes.depths, sub["noise_sizes"], epochs)
    label_noise = [replace(s, label_noise=n) for s in noise_grid for n in cat.LABEL_NOISES] + [
        replace(s, label_noise=n, learning_rate=cat.HIGHER_NOISE_RATE)
        for s in noise_grid
        for n in cat.LABEL_NOISES_AT_HIGHER_RATE
    ]
    batch_size = [
        replace(s, batch_size=b)
        for s in _grid(sub["wide_datasets"], rect, sub["small_depths"], sub["lr_sizes"], epochs)
        for b in cat.BATCH_SIZES
    ]
    reg_grid = _grid(sub["wide_datasets"], rect, sub["small_depths"], sub["lr_sizes"], epochs)
    regularization = reg_grid + [
        replace(s, regularizer=kind, penalty=p)
        for s in reg_grid
        for kind in cat.REGULARIZER_TYPES
        for p in axes.penalties
    ]
    return {
        "primary": _grid(axes.datasets, axes.shapes, axes.depths, axes.sizes, epochs),
        "300_epoch": _grid(sub["core_datasets"], rect, _half(axes.depths), cat.EPOCH_300_SIZE_EXPONENTS,
                           short_epochs(epochs)),
        "30k_epoch": _grid(sub["core_datasets"], rect, axes.depths[:1], sub["long_sizes"], long_epochs(epochs)),
        "learning_rate": learning_rate,
        "label_noise": label_noise,
        "batch_size": batch_size,
        "regularization": regularization,
    }


def no_core_group(axes: Axes, epochs: int) -> list[Setting]:
    """A learning-rate group whose lr=0.0001 member does not exist anywhere.

    It uses a size exponent that the primary sweep does not use, so no core
    experiment with the same other hyperparameters exists.
    """
    free = next(z for z in cat.SIZE_EXPONENT_ORDER if z not in axes.sizes and z <= cat.MAX_SUB_SWEEP_SIZE_EXPONENT)
    base = _core(axes.datasets[0], "rectangle", axes.depths[0], free, epochs)
    return [replace(base, learning_rate=lr) for lr in cat.LEARNING_RATES if lr != cat.CORE_LEARNING_RATE]


def _collect(axes: Axes, epochs: int, traps: bool) -> dict[Setting, list[str]]:
    """Settings in first-seen order, each with the sweeps that produce it."""
    found: dict[Setting, list[str]] = {}
    for sweep, settings in sweep_settings(axes, epochs).items():
        for setting in settings:
            sweeps = found.setdefault(setting, [])
            if sweep not in sweeps:
                sweeps.append(sweep)
    if traps:
        for setting in no_core_group(axes, epochs):
            found.setdefault(setting, ["learning_rate"])
    return found


def count_experiments(scale: Scale, epochs: int, traps: bool = True) -> int:
    """Number of experiments a scale yields."""
    return len(_collect(Axes.of(scale), epochs, traps))


def choose_scale(target: int, epochs: int, traps: bool = True) -> Scale:
    """Grow the axes round-robin while the experiment count stays <= target."""
    scale = MIN_SCALE
    grown = True
    while grown:
        grown = False
        for axis in GROWTH_ORDER:
            value = getattr(scale, axis)
            if value >= getattr(MAX_SCALE, axis):
                continue
            candidate = replace(scale, **{axis: value + 1})
            if count_experiments(candidate, epochs, traps) <= target:
                scale, grown = candidate, True
    return scale


def optimizer_settings(axes: Axes, epochs: int) -> list[Setting]:
    """The optimizer sweep's settings (the current release's layout only).

    Rectangles of a few of the design's datasets and of its depths in 2..6 at one
    size, at some (learning rate, batch size) pairs of the sweep's grid; each pair
    is a complete comparison group: every optimizer variant (adam, RMSprop and SGD
    with momentum 0 and 0.9) with the other settings equal.
    """
    sub = _sub_sweep_axes(axes)
    depths = _half([p for p in axes.depths if cat.OPTIMIZER_DEPTHS[0] <= p <= cat.OPTIMIZER_DEPTHS[1]]
                   or [cat.OPTIMIZER_DEPTHS[0]], minimum=2)
    grid = _grid(_half(axes.datasets, minimum=2), ("rectangle",), depths, sub["lr_sizes"][:1], epochs)
    return [
        replace(s, learning_rate=lr, batch_size=batch, optimizer=optimizer, momentum=momentum)
        for s in grid
        for lr, batch in cat.OPTIMIZER_GROUPS
        for optimizer, momentum in cat.OPTIMIZER_VARIANTS
    ]


def build_design(target: int, epochs: int, traps: bool = True, layout: contract.Layout = "template") -> Design:
    """The experiments for a target count, with ids in first-seen order (1, 2, ...).

    The current release's layout adds the optimizer sweep to the same design: an
    optimizer setting equal to an experiment's (adam at another sweep's setting) flags
    that experiment, the others follow with the next ids (the template's experiments
    and ids are the same in both layouts; ``target`` counts the template's).
    """
    scale = choose_scale(target, epochs, traps)
    axes = Axes.of(scale)
    found = _collect(axes, epochs, traps)
    if layout == "current":
        for setting in optimizer_settings(axes, epochs):
            sweeps = found.setdefault(setting, [])
            sweeps.append("optimizer")
    no_core = set(no_core_group(axes, epochs)) if traps else set()
    experiments = []
    for index, (setting, sweeps) in enumerate(found.items(), start=1):
        ordered = tuple(s for s in contract.SWEEPS if s in sweeps)
        batch = NO_CORE_BATCH if setting in no_core else EXPERIMENTAL_BATCHES[sweeps[0]]
        experiments.append(Experiment(index, setting, ordered, batch))
    ids = tuple(e.experiment_id for e in experiments if e.setting in no_core)
    return Design(scale, axes, epochs, tuple(experiments), ids, layout)
