"""Contexts from JSON bytes: a typed decoder per schema, and the generic decoder.

A JSON context used to be decoded by `json.loads` and then checked field by field in Python. The
typed decoder does both in one pass in C: msgspec decodes the bytes against types derived from
the ruleset's schema (a struct per object, enums as Literals, numbers as int | float), so a
context it returns has every declared type already checked, and DECIDE only converts it (numbers
to exact values, ISO strings to dates; see validator.py's checked variant).

The typed decoder only ever accepts a subset of what the careful path accepts, with the same
values. Anything it refuses (a wrong type, a decimal string where a number belongs, 1e400, a lone
surrogate, malformed JSON) goes the old way: `decode_context`, then the careful validator, which
either accepts it as before or words the error with the field path and the expected type. So
decisions and error messages are the same whichever decoder took the context.

msgspec is the well-kept library for this (typed decoding with validation in C, ~0.9 us for a
retail context against ~8.4 us for json.loads and the Python checks).
"""
from __future__ import annotations

import json
from typing import Any, Literal, Optional, Union

import msgspec

from . import typesys as T
from .typesys import Type

__all__ = ["JSONContextError", "decode_context", "plain", "typed_decoder"]


class JSONContextError(ValueError):
    """The bytes are not a JSON object: not UTF-8, malformed, or another JSON value."""


_untyped = msgspec.json.Decoder()
_REFUSED = (msgspec.MsgspecError, RecursionError)


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON (numbers must be finite)")


_json_decoder = json.JSONDecoder(parse_constant=_reject_constant)


def decode_context(data: bytes) -> dict:
    """UTF-8 JSON bytes of an object -> dict, as `json.loads` gives it (numbers stay int and
    float). Raises JSONContextError with the position of the problem."""
    try:
        obj = _untyped.decode(data)
    except _REFUSED:
        # the error path, and what msgspec refuses but json accepts (1e400, lone surrogates):
        # the standard library decides, and words the error
        obj = _decode_slowly(data)
    if obj.__class__ is not dict:
        raise JSONContextError(f"must be a JSON object, got {_json_type(obj)}")
    return obj


def _decode_slowly(data: bytes):
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as e:
        raise JSONContextError(f"not UTF-8 at byte {e.start}") from None
    try:
        return _json_decoder.decode(text)
    except json.JSONDecodeError as e:
        raise JSONContextError(f"malformed JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except ValueError as e:  # NaN / Infinity
        raise JSONContextError(str(e)) from None
    except RecursionError:
        raise JSONContextError("JSON nested too deeply") from None


def _json_type(obj) -> str:
    if obj is None:
        return "null"
    if isinstance(obj, bool):
        return "boolean"
    if isinstance(obj, (int, float)):
        return "number"
    if isinstance(obj, str):
        return "string"
    return "array" if isinstance(obj, list) else type(obj).__name__


def typed_decoder(schema: Type):
    """A function JSON bytes -> the context, type-checked against `schema` but not converted (its
    objects are msgspec structs, see `_wire_type`), or None when the typed decoder refuses the
    bytes (the caller then takes the careful path)."""
    decode = msgspec.json.Decoder(_wire_type(schema, "Context")).decode

    def decode_typed(data: bytes) -> "dict | None":
        try:
            return decode(data)
        except _REFUSED:
            return None
    return decode_typed


def _wire_type(t: Type, name: str) -> Any:
    """The msgspec type accepting the JSON form of `t` (nullability aside)."""
    k = t.kind
    if k == T.STRING_K:
        return Literal[tuple(t.values)] if t.values else str
    if k == T.NUMBER_K:
        return Union[int, float]  # not bool: msgspec keeps booleans apart from numbers
    if k == T.BOOLEAN_K:
        return bool
    if k == T.LIST_K:
        elem = t.elem or T.ANY
        return list[_nullable(elem, _wire_type(elem, name + "_item"))]
    if k == T.OBJECT_K:
        if t.fields is None:
            return dict[str, Any]
        # A struct is cheaper to decode than a dict, and the checked validator reads its fields
        # as attributes f0, f1... (whatever the field names: `rename` maps them to the JSON keys).
        # A nullable field may be null or left out (None); any other field must be there.
        fields = []
        for i, (fname, ft) in enumerate(t.fields):
            wt = _wire_type(ft, f"{name}_{fname}")
            fields.append((f"f{i}", Optional[wt], None) if ft.nullable else (f"f{i}", wt))
        return msgspec.defstruct(name, fields, rename={f"f{i}": f for i, (f, _) in enumerate(t.fields)},
                                 kw_only=True, gc=False)
    if k == T.ANY_K:
        return Any
    return str  # dates, times, durations: ISO strings, parsed by the schema's converters


def plain(context):
    """A context from the typed decoder as plain JSON values (dicts for its structs), for the paths
    that take it the careful way (explanations, the safety net); any other value as it is."""
    return msgspec.to_builtins(context) if isinstance(context, msgspec.Struct) else context


def _nullable(t: Type, wire: Any) -> Any:
    return Optional[wire] if t.nullable else wire
