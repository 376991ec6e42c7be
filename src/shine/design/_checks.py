"""Argument checks shared by the design functions: each failure names the field and its limit."""

from __future__ import annotations

import math


def finite(name: str, value: float) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return x


def positive(name: str, value: float) -> float:
    x = finite(name, value)
    if x <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return x


def nonzero(name: str, value: float) -> float:
    x = finite(name, value)
    if x == 0:
        raise ValueError(f"{name} must be non-zero, got {value!r}")
    return x


def alpha_level(value: float, *, name: str = "alpha", upper: float = 0.5) -> float:
    x = finite(name, value)
    if not 0 < x < upper:
        raise ValueError(f"{name} must lie in (0, {upper:g}), got {value!r}")
    return x


def probability(name: str, value: float) -> float:
    x = finite(name, value)
    if not 0 < x < 1:
        raise ValueError(f"{name} must lie in (0, 1), got {value!r}")
    return x


def fraction(value: float, *, name: str = "information_fraction") -> float:
    x = finite(name, value)
    if not 0 < x <= 1:
        raise ValueError(f"{name} must lie in (0, 1], got {value!r}")
    return x


def choice(name: str, value: str, allowed) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value
