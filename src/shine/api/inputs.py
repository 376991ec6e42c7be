"""The base of every input schema of the API: values no field can take are refused here, naming the field.

Pydantic alone lets through what JSON can carry but no trial record can hold:

* text with a NUL character (PostgreSQL cannot store it) or a lone UTF-16 surrogate (not encodable as UTF-8);
* ``NaN`` and ``Infinity`` (Python's JSON parser accepts them) for a number;
* ``true``/``false`` for a number (pydantic would read them as 1 and 0);
* a date and time that cannot be converted to UTC (year 1 at +14:00) or lies outside the platform's range.

Each is a 422 in the API's one error envelope, with the field named and the limit stated. The services still
check the trial's own limits (an age of at least 18, a time not in the future, …).
"""

from __future__ import annotations

import datetime as dt
import math
import types
import typing

from ninja import Schema
from pydantic import ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def refuse(message: str) -> PydanticCustomError:
    """A validation error whose message is shown as it is (no "Value error, " before it)."""
    return PydanticCustomError("shine_input", message)


def text_problem(value: str) -> str | None:
    """Why this text cannot be stored, or None."""
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text (no lone surrogates)"
    return None


def _numeric_only(annotation) -> bool:
    """True for int, float and their optional forms (not bool)."""
    args = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) \
        else (annotation,)
    kinds = {a for a in args if a is not type(None)}
    return bool(kinds) and kinds <= {int, float}


def _walk(name: str, value, *, numeric: bool):
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise refuse(f"{name} {problem}")
    elif isinstance(value, bool):
        if numeric:
            raise refuse(f"{name} must be a number, not true or false")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise refuse(f"{name} must be a finite number")
    elif isinstance(value, (list, tuple)):
        for item in value:
            _walk(name, item, numeric=False)
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk(name, key, numeric=False)
            _walk(name, item, numeric=False)


class Input(Schema):
    """Base class of the API's input schemas (bodies and query parameters)."""

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value, info: ValidationInfo):
        field = cls.model_fields.get(info.field_name)
        _walk(info.field_name, value, numeric=field is not None and _numeric_only(field.annotation))
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _in_range(cls, value, info: ValidationInfo):
        if isinstance(value, dt.datetime):
            limits = (f"{info.field_name} must lie between {EARLIEST:%Y-%m-%d} and "
                      f"{LATEST - dt.timedelta(days=1):%Y-%m-%d}")
            try:
                utc = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
            except (OverflowError, ValueError):
                raise refuse(limits) from None
            if not EARLIEST <= utc < LATEST:
                raise refuse(limits)
        elif isinstance(value, dt.date) and not EARLIEST.date() <= value < LATEST.date():
            raise refuse(f"{info.field_name} must lie between {EARLIEST:%Y-%m-%d} and "
                          f"{LATEST - dt.timedelta(days=1):%Y-%m-%d}")
        return value
