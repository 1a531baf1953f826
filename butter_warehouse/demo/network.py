"""Layer widths, parameter counts and the JSON texts describing a network.

``depth`` counts the dense layers including the output layer, so a network of
depth d has d widths: d - 1 hidden layers (input side first) and the output.
"""

from __future__ import annotations

import json
from functools import cache

from . import catalog as cat


def layer_widths(shape: str, depth: int, width: int, outputs: int) -> tuple[int, ...]:
    """Widths of a network of a shape whose first hidden layer base width is ``width``."""
    hidden = depth - 1
    if shape in ("rectangle", "rectangle_residual"):
        layers = [width] * hidden
    elif shape == "trapezoid":
        layers = [round(width + (outputs - width) * i / hidden) for i in range(hidden)]
    elif shape == "exponential":
        layers = [round(width * (outputs / width) ** (i / hidden)) for i in range(hidden)]
    elif shape.startswith("wide_first_"):
        factor = int(shape.removeprefix("wide_first_").removesuffix("x"))
        layers = [width * factor] + [width] * (hidden - 1)
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return tuple(max(1, w) for w in layers) + (outputs,)


def count_parameters(widths: tuple[int, ...], inputs: int) -> int:
    """Trainable parameters (weights and biases) of dense layers of these widths."""
    total, previous = 0, inputs
    for width in widths:
        total += previous * width + width
        previous = width
    return total


@cache
def fit_widths(shape: str, depth: int, size: int, inputs: int, outputs: int) -> tuple[int, ...]:
    """The widths whose parameter count is closest to ``size`` (ties: the narrower)."""
    def params(width: int) -> int:
        return count_parameters(layer_widths(shape, depth, width, outputs), inputs)

    high = 1
    while params(high) < size:
        high *= 2
    low = max(1, high // 2)
    while low < high:  # smallest width with params >= size
        mid = (low + high) // 2
        if params(mid) >= size:
            high = mid
        else:
            low = mid + 1
    best = low
    if best > 1 and abs(params(best - 1) - size) <= abs(params(best) - size):
        best -= 1
    return layer_widths(shape, depth, best, outputs)


def _dumps(value: object) -> str:
    """Deterministic compact JSON."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def network_structure(shape: str, widths: tuple[int, ...], info: cat.DatasetInfo) -> str:
    """The network as a JSON text: input, dense layers, residual connections."""
    layers = []
    for index, width in enumerate(widths):
        is_output = index == len(widths) - 1
        layers.append({
            "type": "Dense",
            "units": width,
            "activation": info.output_activation if is_output else cat.ACTIVATION,
            "use_bias": True,
            "residual": shape == "rectangle_residual" and 0 < index < len(widths) - 1,
        })
    return _dumps({"input": {"type": "Input", "shape": [info.inputs]}, "layers": layers})


def kernel_regularizer_json(kind: str | None, penalty: float) -> str | None:
    """The regularizer setting as exported: NULL when none, else a JSON text."""
    if kind is None:
        return None
    return _dumps({"type": kind, kind: penalty})


def dumps(value: object) -> str:
    """Deterministic compact JSON of any value (run commands)."""
    return _dumps(value)
