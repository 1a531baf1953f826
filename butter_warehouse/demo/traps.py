"""The deliberate oddities of the demo data, planned up front and applied per experiment.

Each trap is recorded in the manifest with the experiments and runs it touches;
epochs in the manifest are 1-based (the warehouse convention). A non-finite run
value is written as NaN, +/-inf or a NULL element (NREL's export has all three);
the summaries then have NULL elements where a statistic has no value (see
``summary``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import contract
from . import catalog as cat, summary
from .curves import RunBatch
from .design import Design, Experiment

#: the smallest base training length that leaves room for every trap's epochs
MIN_TRAP_EPOCHS = 10
MIN_TRAP_RUNS = 2

DESCRIPTIONS: dict[str, str] = {
    "nonfinite_losses": "NaN and +inf test/train losses at some epochs of some runs (not all runs); at "
    "all_runs_nonfinite_epochs every run's test and train loss is NaN, so the summary has no finite value there.",
    "diverged_run": "A fully diverged run: every test loss is NaN or +inf, every other metric NaN.",
    "tied_best_epochs": "A run whose minimum test loss and maximum test accuracy are each reached at several "
    "epochs with the identical float32 value; the best epoch is the earliest.",
    "missing_run": "A trained run missing from every runs folder: counted in num_runs and in the summary "
    "aggregates of its experiment.",
    "summary_only_experiment": "An experiment with summary rows but no run in any runs folder.",
    "run_only_experiment": "An experiment with runs but no row in any summary folder.",
    "sweep_group_without_core": "Sweep experiments whose comparison group has no core-value experiment.",
    "one_run_experiments": "Experiments trained and published with a single run: num_runs 1, one run in the "
    "runs folders, and a summary whose stddev arrays are NULL at every epoch (sample stddev of one value).",
    "all_runs_diverged_epochs": "At `epochs` every run of the experiment has no finite value of any metric "
    "(written as a NULL element, NaN or +inf/NaN depending on the run, see `runs`), so every summary "
    "statistic is a NULL element there (num_finite 0); the last epoch is one of them. At "
    "`single_finite_epochs` only `finite_run_id` is finite: stddev is NULL, the other statistics are its values.",
    "null_element_runs": "Runs whose arrays hold NULL elements beside NaN and +inf ones (epochs per metric and "
    "kind); a NULL element is a non-finite value like NaN. The second run's test loss is NULL at the first and "
    "the last epoch.",
    "null_partition": "Unregularized experiments: NULL kernel_regularizer type, written as the hive "
    "default partition.",
    "regression_and_classification": "Regression and classification datasets side by side; regression runs "
    "still carry (meaningless) accuracy arrays.",
    "best_point_disagreements": "Current layout only: experiments (every run exported, no other trap) whose "
    "published best-point statistic `column` (NREL's name; staged as `staged_as`) is `published_value` in every "
    "summary copy of the experiment while its runs give `value_from_runs`; every other best-point statistic of "
    "every experiment whose runs are all exported equals the one computed from its runs. Epochs in these "
    "columns count from 0 (best_point_epoch_base), unlike the 1-based epochs of the other traps.",
}


@dataclass(frozen=True)
class Disagreement:
    """One planted best-point statistic that differs from the runs."""

    experiment_id: int
    column: str  # NREL's column name
    change: str  # "shift" (an epoch moved by ``amount``, kept within the epochs), "add" or "scale"
    amount: float


#: the planted disagreements: which experiment (a predicate), which statistic, how it changes
DISAGREEMENTS: tuple[tuple[str, str, str, float], ...] = (
    ("sgd_with_momentum", contract.best_point_name("test_loss", "epoch", "median"), "shift", 3),
    ("regularized_classification", contract.best_point_name("test_accuracy", "value", "max"), "add", -0.1),
    ("higher_learning_rate", contract.best_point_name("test_loss", "value", "q1"), "scale", 1.5),
    ("rmsprop_without_momentum", contract.best_point_name("test_kullback_leibler_divergence", "epoch", "avg"),
     "shift", 2),
)


@dataclass
class TrapPlan:
    """Which experiments the traps touch (ids), decided before any run is simulated."""

    nonfinite: int | None = None
    diverged: int | None = None
    ties: int | None = None
    missing_run: int | None = None
    summary_only: int | None = None
    run_only: int | None = None
    one_run: tuple[int, ...] = ()
    all_diverged: int | None = None
    null_elements: int | None = None
    disagreements: tuple[Disagreement, ...] = ()
    details: dict[str, dict] = field(default_factory=dict)  # filled while generating
    one_run_ids: dict[int, str] = field(default_factory=dict)  # experiment_id -> run_id, filled likewise

    def trained_runs(self, experiment_id: int, runs: int) -> int:
        """How many runs an experiment has (``runs`` is the demo's runs per experiment)."""
        return 1 if experiment_id in self.one_run else runs

    def exported_runs(self, experiment_id: int, runs: int) -> list[int]:
        """Indexes of the runs written to the runs folders, of the ``runs`` trained."""
        if experiment_id == self.summary_only:
            return []
        if experiment_id == self.missing_run:
            return list(range(runs - 1))
        return list(range(runs))

    def has_summary(self, experiment_id: int) -> bool:
        return experiment_id != self.run_only


def _pick(design: Design, taken: set[int], predicate: Callable[[Experiment], bool]) -> int:
    """The first experiment (by id) matching the predicate and not taken by another trap."""
    for experiment in design.experiments:
        if experiment.experiment_id not in taken and predicate(experiment):
            taken.add(experiment.experiment_id)
            return experiment.experiment_id
    raise RuntimeError("the demo design has no experiment for a trap")


def _disagreements(design: Design, taken: set[int]) -> tuple[Disagreement, ...]:
    """Experiments no other trap touches (structural traps included) for the planted best points."""
    for entry in structural(design).values():
        taken.update(entry.get("experiment_ids", ()))
    predicates: dict[str, Callable[[Experiment], bool]] = {
        "sgd_with_momentum": lambda e: e.setting.optimizer == "SGD" and e.setting.momentum == 0.9,
        "regularized_classification": lambda e: e.setting.regularizer is not None
        and not cat.DATASETS[e.setting.dataset].is_regression,
        "higher_learning_rate": lambda e: "learning_rate" in e.sweeps and e.setting.learning_rate == cat.HIGHER_NOISE_RATE
        and e.setting.epochs == design.epochs,
        "rmsprop_without_momentum": lambda e: e.setting.optimizer == "RMSprop" and e.setting.momentum == 0.0,
    }
    return tuple(Disagreement(_pick(design, taken, predicates[which]), column, change, amount)
                 for which, column, change, amount in DISAGREEMENTS)


def plan(design: Design) -> TrapPlan:
    """Choose distinct experiments for the traps that touch single experiments (the same in
    both layouts; the current layout adds the best-point disagreements)."""
    taken = set(design.no_core_group_ids)
    base = design.epochs

    def unstable(e: Experiment) -> bool:
        return e.setting.learning_rate == 0.01 and e.setting.epochs == base

    def primary_of(task: Callable[[cat.DatasetInfo], bool]) -> Callable[[Experiment], bool]:
        return lambda e: "primary" in e.sweeps and task(cat.DATASETS[e.setting.dataset])

    trap_plan = TrapPlan(
        nonfinite=_pick(design, taken, unstable),
        diverged=_pick(design, taken, unstable),
        ties=_pick(design, taken, primary_of(lambda d: not d.is_regression)),
        missing_run=_pick(design, taken, primary_of(lambda d: d.is_regression)),
        summary_only=_pick(design, taken, lambda e: "batch_size" in e.sweeps
                           and e.setting.batch_size != cat.CORE_BATCH_SIZE),
        run_only=_pick(design, taken, lambda e: "label_noise" in e.sweeps and e.setting.label_noise == 0.1),
        one_run=(
            _pick(design, taken, primary_of(lambda d: not d.is_regression)),
            _pick(design, taken, lambda e: "30k_epoch" in e.sweeps),
        ),
        all_diverged=_pick(design, taken, unstable),
        null_elements=_pick(design, taken, lambda e: "learning_rate" in e.sweeps
                            and e.setting.learning_rate == cat.HIGHER_NOISE_RATE and e.setting.epochs == base),
    )
    if design.layout == "current":
        trap_plan.disagreements = _disagreements(design, taken)
    return trap_plan


def _changed(value: float, change: str, amount: float, last_epoch: int) -> float:
    """A published statistic changed from the runs' value (an epoch stays within 0..last_epoch)."""
    if change == "shift":
        return value + amount if value + amount <= last_epoch else value - amount
    if change == "add":
        return value + amount
    return value * amount


def plant(trap_plan: TrapPlan, experiment: Experiment, best: dict[str, float | None], epochs: int) -> None:
    """Change an experiment's planted best-point statistics in place (canonical names); record them."""
    names = {contract.best_point_name(m, p, s): (m, p, s) for m in contract.BEST_POINT_METRICS
             for p in contract.BEST_POINT_PARTS for s in contract.BEST_POINT_STATS}
    canonical = summary.best_point_columns()
    for planted in trap_plan.disagreements:
        if planted.experiment_id != experiment.experiment_id:
            continue
        staged = canonical[names[planted.column]]
        value = best[staged]
        if value is None:
            raise RuntimeError(f"experiment {experiment.experiment_id} has no {planted.column} to change")
        last = epochs - 1 + summary.BEST_POINT_EPOCH_BASE
        best[staged] = float(np.float32(_changed(value, planted.change, planted.amount, last)))
        trap_plan.details.setdefault("best_point_disagreements", {"disagreements": []})["disagreements"].append({
            "experiment_id": experiment.experiment_id, "column": planted.column, "staged_as": staged,
            "published_value": best[staged], "value_from_runs": value,
        })


def _epochs(indexes: Iterable[int] | np.ndarray) -> list[int]:
    """0-based indexes -> sorted 1-based epochs."""
    return sorted(int(i) + 1 for i in indexes)


def _nonfinite(batch: RunBatch) -> dict:
    test, train = batch.metrics["test_loss"], batch.metrics["train_loss"]
    epochs = test.shape[1]
    a, c, all_bad, tail = epochs // 5, 2 * epochs // 5, epochs // 2, 3 * epochs // 4
    test[0, [a, a + 1]] = np.nan
    test[0, c] = np.inf
    train[0, a] = np.nan
    train[0, a + 1] = np.inf
    test[1, tail:] = np.inf
    train[1, tail:] = np.nan
    test[:, all_bad] = np.nan
    train[:, all_bad] = np.nan
    return {
        "runs": [
            {"run_id": batch.run_ids[0], "test_loss_nan_epochs": _epochs([a, a + 1, all_bad]),
             "test_loss_posinf_epochs": _epochs([c]), "train_loss_nan_epochs": _epochs([a, all_bad]),
             "train_loss_posinf_epochs": _epochs([a + 1])},
            {"run_id": batch.run_ids[1], "test_loss_nan_epochs": _epochs([all_bad]),
             "test_loss_posinf_epochs": _epochs(range(tail, epochs)),
             "train_loss_nan_epochs": _epochs([all_bad, *range(tail, epochs)]), "train_loss_posinf_epochs": []},
        ],
        "all_runs_nonfinite_epochs": _epochs([all_bad]),
    }


def _diverged(batch: RunBatch) -> dict:
    last = batch.num_runs - 1
    for matrix in batch.metrics.values():
        matrix[last] = np.nan
    batch.metrics["test_loss"][last, 1::2] = np.inf
    return {"run_id": batch.run_ids[last]}


def _ties(batch: RunBatch) -> dict:
    loss, accuracy = batch.metrics["test_loss"][0], batch.metrics["test_accuracy"][0]
    epochs = loss.shape[0]
    best_loss = np.float32(loss.min() * np.float32(0.999))
    loss[[epochs // 2, epochs - 1]] = best_loss
    accuracy[[epochs // 3, epochs - 2]] = accuracy.max()
    loss_epochs = _epochs(np.flatnonzero(loss == loss.min()))
    accuracy_epochs = _epochs(np.flatnonzero(accuracy == accuracy.max()))
    return {
        "run_id": batch.run_ids[0],
        "test_loss_min_epochs": loss_epochs,
        "best_test_loss_epoch": loss_epochs[0],
        "best_test_loss": float(best_loss),
        "test_accuracy_max_epochs": accuracy_epochs,
        "best_test_accuracy_epoch": accuracy_epochs[0],
        "best_test_accuracy": float(accuracy.max()),
    }


#: how a run's non-finite values are written in the all_runs_diverged_epochs trap, by run index modulo 3
DIVERGED_STYLES: tuple[str, ...] = ("null", "nan", "posinf")


def _diverge(batch: RunBatch, run: int, epochs: list[int], style: str) -> None:
    """Every metric of a run non-finite at some epochs: NULL elements, NaN, or +inf losses (other metrics NaN)."""
    for metric, matrix in batch.metrics.items():
        if style == "null":
            batch.set_null(metric, run, epochs)
        else:
            matrix[run, epochs] = np.inf if style == "posinf" and metric.endswith("_loss") else np.nan


def _all_diverged(batch: RunBatch) -> dict:
    epochs = batch.metrics["test_loss"].shape[1]
    diverged, single = [epochs // 3, epochs - 1], [2 * epochs // 3]
    finite_run = batch.num_runs - 1
    runs = []
    for run in range(batch.num_runs):
        style = DIVERGED_STYLES[run % len(DIVERGED_STYLES)]
        _diverge(batch, run, diverged if run == finite_run else diverged + single, style)
        runs.append({"run_id": batch.run_ids[run], "written_as": style})
    return {
        "epochs": _epochs(diverged),
        "single_finite_epochs": _epochs(single),
        "finite_run_id": batch.run_ids[finite_run],
        "runs": runs,
    }


def _spoil(batch: RunBatch, run: int, metric: str, null: Sequence[int], nan: Sequence[int] = (),
           posinf: Sequence[int] = ()) -> dict[str, list[int]]:
    """Write some 0-based epochs of a run's metric as NULL, NaN and +inf; the 1-based epochs of each."""
    batch.set_null(metric, run, list(null))
    batch.metrics[metric][run, list(nan)] = np.nan
    batch.metrics[metric][run, list(posinf)] = np.inf
    return {f"{metric}_null_epochs": _epochs(null), f"{metric}_nan_epochs": _epochs(nan),
            f"{metric}_posinf_epochs": _epochs(posinf)}


def _null_elements(batch: RunBatch) -> dict:
    epochs = batch.metrics["test_loss"].shape[1]
    a, b, c, last = epochs // 5, 2 * epochs // 5, 3 * epochs // 5, epochs - 1
    first = {
        "run_id": batch.run_ids[0],
        **_spoil(batch, 0, "test_loss", null=[a, a + 1], nan=[b], posinf=[c]),
        **_spoil(batch, 0, "train_loss", null=[a], nan=[a + 1]),
        **_spoil(batch, 0, "test_accuracy", null=[b], nan=[c]),
    }
    second = {
        "run_id": batch.run_ids[1],
        **_spoil(batch, 1, "test_loss", null=[0, last]),
        **_spoil(batch, 1, "train_loss", null=[last]),
        **_spoil(batch, 1, "train_accuracy", null=[0]),
    }
    return {"runs": [first, second]}


def apply(trap_plan: TrapPlan, experiment: Experiment, batch: RunBatch) -> None:
    """Alter the simulated runs of a trap experiment in place; record what was done."""
    eid = experiment.experiment_id
    changes: dict[int | None, tuple[str, Callable[[RunBatch], dict]]] = {
        trap_plan.nonfinite: ("nonfinite_losses", _nonfinite),
        trap_plan.diverged: ("diverged_run", _diverged),
        trap_plan.ties: ("tied_best_epochs", _ties),
        trap_plan.all_diverged: ("all_runs_diverged_epochs", _all_diverged),
        trap_plan.null_elements: ("null_element_runs", _null_elements),
    }
    if eid in changes:
        name, change = changes[eid]
        trap_plan.details[name] = {"experiment_id": eid, **change(batch)}
    if eid == trap_plan.missing_run:
        trap_plan.details["missing_run"] = {
            "experiment_id": eid, "run_id": batch.run_ids[-1],
            "num_runs": batch.num_runs, "runs_exported": batch.num_runs - 1,
        }
    if eid == trap_plan.summary_only:
        trap_plan.details["summary_only_experiment"] = {"experiment_id": eid, "run_ids": list(batch.run_ids)}
    if eid == trap_plan.run_only:
        trap_plan.details["run_only_experiment"] = {"experiment_id": eid, "run_ids": list(batch.run_ids)}
    if eid in trap_plan.one_run:
        trap_plan.one_run_ids[eid] = batch.run_ids[0]


def _one_run_entry(trap_plan: TrapPlan) -> dict:
    """The one-run experiments in id order, with their run ids."""
    ids = sorted(trap_plan.one_run_ids)
    return {"experiment_ids": ids, "run_ids": [trap_plan.one_run_ids[i] for i in ids]}


def structural(design: Design) -> dict[str, dict]:
    """Traps that follow from the design itself (no run is altered)."""
    base = design.epochs
    no_core_300 = [
        e.experiment_id for e in design.experiments
        if "300_epoch" in e.sweeps and e.setting.size_exponent > cat.MAX_PRIMARY_SIZE_EXPONENT
    ]
    unregularized = [e.experiment_id for e in design.experiments if e.setting.regularizer is None]
    datasets = sorted({e.setting.dataset for e in design.experiments})
    regression = [d for d in datasets if cat.DATASETS[d].is_regression]
    return {
        "sweep_group_without_core": {
            "experiment_ids": sorted(design.no_core_group_ids + tuple(no_core_300)),
            "groups": [
                {"sweep": "learning_rate", "experiment_ids": list(design.no_core_group_ids),
                 "missing_core": {"learning_rate": cat.CORE_LEARNING_RATE}},
                {"sweep": "300_epoch", "experiment_ids": no_core_300, "missing_core": {"epochs": base}},
            ],
        },
        "null_partition": {
            "partition": contract.PARTITION_ORDER[3],
            "value": contract.HIVE_NULL,
            "num_experiments": len(unregularized),
            "experiment_ids": unregularized[:10],
        },
        "regression_and_classification": {
            "regression_datasets": regression,
            "classification_datasets": [d for d in datasets if d not in regression],
        },
    }


def manifest_entries(trap_plan: TrapPlan, design: Design) -> dict[str, dict]:
    """Every trap with its description, in a fixed order."""
    entries = {**trap_plan.details, "one_run_experiments": _one_run_entry(trap_plan), **structural(design)}
    if "best_point_disagreements" in entries:  # in experiment id order, whatever the writing order
        entries["best_point_disagreements"]["disagreements"].sort(key=lambda d: (d["experiment_id"], d["column"]))
    return {name: {"description": DESCRIPTIONS[name], **entries[name]} for name in DESCRIPTIONS if name in entries}
