"""Argument checks shared by the design functions: each failure names the field and its limit."""

from __future__ import annotations

import math

from shine.i18n import _, decimal


def finite(name: str, value: float) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(_("%(name)s must be a number, got %(value)s") % {
            "name": name, "value": decimal(value, "r")}) from None
    if not math.isfinite(x):
        raise ValueError(_("%(name)s must be finite, got %(value)s") % {
            "name": name, "value": decimal(value, "r")})
    return x


def positive(name: str, value: float) -> float:
    x = finite(name, value)
    if x <= 0:
        raise ValueError(_("%(name)s must be > 0, got %(value)s") % {"name": name, "value": decimal(value, "r")})
    return x


def nonzero(name: str, value: float) -> float:
    x = finite(name, value)
    if x == 0:
        raise ValueError(_("%(name)s must be non-zero, got %(value)s") % {
            "name": name, "value": decimal(value, "r")})
    return x


def alpha_level(value: float, *, name: str = "alpha", upper: float = 0.5) -> float:
    x = finite(name, value)
    if not 0 < x < upper:
        raise ValueError(_("%(name)s must lie in (0, %(upper)s), got %(value)s") % {
            "name": name, "upper": decimal(upper), "value": decimal(value, "r")})
    return x


def probability(name: str, value: float) -> float:
    x = finite(name, value)
    if not 0 < x < 1:
        raise ValueError(_("%(name)s must lie in (0, 1), got %(value)s") % {
            "name": name, "value": decimal(value, "r")})
    return x


def fraction(value: float, *, name: str = "information_fraction") -> float:
    x = finite(name, value)
    if not 0 < x <= 1:
        raise ValueError(_("%(name)s must lie in (0, 1], got %(value)s") % {
            "name": name, "value": decimal(value, "r")})
    return x


def choice(name: str, value: str, allowed) -> str:
    if value not in allowed:
        raise ValueError(_("%(name)s must be one of %(items)s, got %(value)s") % {
            "name": name, "items": ', '.join(map(repr, allowed)), "value": decimal(value, "r")})
    return value
