"""Per-epoch aggregates of an experiment's runs, as the summary folders publish them.

Every statistic at an epoch is taken over the runs whose value is finite there
(NaN and +/-inf are left out); an epoch without a finite value gives NaN.
Computed in float64 from the float32 run values, stored as float32.
"""

from __future__ import annotations

import numpy as np

from .. import contract


def _quantile(ordered: np.ndarray, count: np.ndarray, q: float) -> np.ndarray:
    """Linear-interpolation quantile (numpy's default) per column.

    ``ordered`` is sorted along axis 0 with the non-finite values (as NaN) last;
    ``count`` the number of finite values per column.
    """
    position = (np.maximum(count, 1) - 1) * q
    lower = np.floor(position).astype(np.intp)
    upper = np.minimum(lower + 1, np.maximum(count, 1) - 1)
    low = np.take_along_axis(ordered, lower[None, :], axis=0)[0]
    high = np.take_along_axis(ordered, upper[None, :], axis=0)[0]
    value = low + (high - low) * (position - lower)
    return np.where(count > 0, value, np.nan)


def metric_statistics(values: np.ndarray) -> dict[str, np.ndarray]:
    """Every statistic the contract knows (plus q1/q3) of a (runs, epochs) matrix."""
    data = values.astype(np.float64)
    finite = np.isfinite(data)
    count = finite.sum(axis=0)
    masked = np.where(finite, data, np.nan)
    ordered = np.sort(masked, axis=0)  # NaN last
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(finite, data, 0.0).sum(axis=0) / count
        variance = np.where(finite, (data - mean) ** 2, 0.0).sum(axis=0) / count
    last = np.maximum(count, 1) - 1
    stats = {
        "num_finite": count.astype(np.uint8),
        "avg": np.where(count > 0, mean, np.nan),
        "stddev": np.where(count > 0, np.sqrt(variance), np.nan),
        "min": np.where(count > 0, ordered[0], np.nan),
        "max": np.where(count > 0, np.take_along_axis(ordered, last[None, :], axis=0)[0], np.nan),
        "median": _quantile(ordered, count, 0.5),
        "q1": _quantile(ordered, count, 0.25),
        "q3": _quantile(ordered, count, 0.75),
    }
    return {k: v if k == "num_finite" else v.astype(np.float32) for k, v in stats.items()}


def summarize(metrics: dict[str, np.ndarray]) -> dict[str, object]:
    """The summary-only values of one experiment, by canonical column name.

    ``metrics`` maps canonical run metric names (test_loss, ...) to the
    (runs, epochs) matrices of every trained run of the experiment.
    """
    runs, epochs = next(iter(metrics.values())).shape
    out: dict[str, object] = {
        "num_runs": runs,
        "num_runs_at_epoch": np.full(epochs, runs, dtype=np.uint8),
    }
    for metric, stats in contract.SUMMARY_STATS.items():
        computed = metric_statistics(metrics[metric])
        for stat in stats + contract.QUARTILE_STATS:
            out[f"{metric}_{stat}"] = computed[stat]
    return out
