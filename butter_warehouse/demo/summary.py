"""Per-epoch aggregates of an experiment's runs, as the summary folders publish them.

NREL computed them per epoch in PostgreSQL over the runs' values at that epoch,
non-finite values stored as NULL: ``count``, ``avg``, ``stddev_samp``, ``min``,
``max`` and ``percentile_cont`` (linear interpolation, numpy's default
quantile). So every statistic is taken over the finite values (NaN, +/-inf and
NULL elements are left out); an epoch without a finite value has a NULL
element (never NaN) in every statistic, and the sample standard deviation is
NULL below two finite values (at every epoch of a one-run experiment).
Computed in float64 from the float32 run values, stored as float32; the
statistics are masked arrays whose masked elements are written as NULL.

The current release's summaries add NREL's best-point distributions
(``best_points``): per metric of ``contract.BEST_POINT_METRICS``, each run's best
epoch (the first epoch of its lowest loss or highest accuracy over its finite
values; a run without a finite value is left out) and best value, and over the
runs their min, q1, median, q3, max and avg (quantiles as percentile_cont),
stored as float32. **The demo counts these epochs from 0** (``BEST_POINT_EPOCH_BASE``;
NREL's page does not say, and the warehouse detects the base from the data).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from .. import contract

#: PostgreSQL's stddev_samp: degrees of freedom removed from the count
STDDEV_DDOF = 1
#: the demo's best-point epochs count from 0 (stated in the manifest as best_point_epoch_base)
BEST_POINT_EPOCH_BASE = 0


def _quantile(ordered: np.ndarray, count: np.ndarray, q: float) -> np.ndarray:
    """Linear-interpolation quantile (numpy's default, percentile_cont) per column.

    ``ordered`` is sorted along axis 0 with the non-finite values (as NaN) last;
    ``count`` the number of finite values per column (the result is NaN where it is 0).
    """
    position = (np.maximum(count, 1) - 1) * q
    lower = np.floor(position).astype(np.intp)
    upper = np.minimum(lower + 1, np.maximum(count, 1) - 1)
    low = np.take_along_axis(ordered, lower[None, :], axis=0)[0]
    high = np.take_along_axis(ordered, upper[None, :], axis=0)[0]
    return low + (high - low) * (position - lower)


def _moments(data: np.ndarray, finite: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample standard deviation of the finite values per column (NaN where undefined)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(finite, data, 0.0).sum(axis=0) / count
        squares = np.where(finite, (data - mean) ** 2, 0.0).sum(axis=0)
        stddev = np.sqrt(squares / (count - STDDEV_DDOF))
    return mean, stddev


def _stored(values: np.ndarray, defined: np.ndarray) -> np.ma.MaskedArray:
    """float32 values, masked (written as NULL) where the statistic is undefined."""
    return np.ma.masked_array(np.where(defined, values, 0.0).astype(np.float32), mask=~defined)


def metric_statistics(values: np.ndarray) -> dict[str, np.ndarray]:
    """Every statistic the contract knows (plus q1/q3) of a (runs, epochs) matrix.

    ``num_finite`` is a uint8 array; the others masked float32 arrays (masked: NULL).
    """
    data = np.ma.getdata(values).astype(np.float64)
    finite = np.isfinite(data) & ~np.ma.getmaskarray(values)
    count = finite.sum(axis=0)
    ordered = np.sort(np.where(finite, data, np.nan), axis=0)  # NaN last
    mean, stddev = _moments(data, finite, count)
    last = np.maximum(count, 1) - 1
    some, several = count > 0, count > STDDEV_DDOF
    return {
        "num_finite": count.astype(np.uint8),
        "avg": _stored(mean, some),
        "stddev": _stored(stddev, several),
        "min": _stored(ordered[0], some),
        "max": _stored(np.take_along_axis(ordered, last[None, :], axis=0)[0], some),
        "median": _stored(_quantile(ordered, count, 0.5), some),
        "q1": _stored(_quantile(ordered, count, 0.25), some),
        "q3": _stored(_quantile(ordered, count, 0.75), some),
    }


def summarize(metrics: dict[str, np.ndarray]) -> dict[str, object]:
    """The summary-only values of one experiment, by canonical column name.

    ``metrics`` maps canonical run metric names (test_loss, ...) to the
    (runs, epochs) matrices of every trained run of the experiment (NULL
    elements as NaN or masked).
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


@cache
def best_point_columns() -> dict[tuple[str, str, str], str]:
    """(metric, part, stat) -> canonical column name of NREL's best-point statistic."""
    canonical = {c.source_name("current"): c.name for c in contract.SUMMARY_ONLY_COLUMNS}
    return {
        (metric, part, stat): canonical[contract.best_point_name(metric, part, stat)]
        for metric in contract.BEST_POINT_METRICS
        for part in contract.BEST_POINT_PARTS
        for stat in contract.BEST_POINT_STATS
    }


def _distribution(sample: np.ndarray) -> dict[str, float | None]:
    """min, q1, median, q3, max and avg of a sample as float32 values (None: an empty sample)."""
    if sample.size == 0:
        return dict.fromkeys(contract.BEST_POINT_STATS)
    q1, median, q3 = np.quantile(sample, [0.25, 0.5, 0.75])  # linear: percentile_cont
    stats = {"min": sample.min(), "q1": q1, "median": median, "q3": q3, "max": sample.max(), "avg": sample.mean()}
    return {stat: float(np.float32(stats[stat])) for stat in contract.BEST_POINT_STATS}


def best_points(metrics: dict[str, np.ndarray]) -> dict[str, float | None]:
    """NREL's best-point distributions of one experiment, by canonical column name.

    ``metrics`` as in ``summarize`` (every trained run, NULL elements as NaN or masked).
    """
    out: dict[str, float | None] = {}
    names = best_point_columns()
    for metric, direction in contract.BEST_POINT_METRICS.items():
        values = metrics[metric]
        data = np.ma.getdata(values).astype(np.float64)
        finite = np.isfinite(data) & ~np.ma.getmaskarray(values)
        kept = finite.any(axis=1)  # runs with a finite value
        filled = np.where(finite, data, np.inf if direction == "min" else -np.inf)[kept]
        best = filled.argmin(axis=1) if direction == "min" else filled.argmax(axis=1)  # first of ties
        samples = {
            "epoch": (best + BEST_POINT_EPOCH_BASE).astype(np.float64),
            "value": filled[np.arange(len(best)), best],
        }
        for part, sample in samples.items():
            for stat, value in _distribution(sample).items():
                out[names[(metric, part, stat)]] = value
    return out
