"""JSON from outside, read so that hostile input is a problem naming its field, never an exception elsewhere.

`json.loads` alone lets through what breaks later: NaN and `1e999` (infinity), a 5,000-digit integer (Python's
int-string limit raises ValueError from inside the parser), nesting deep enough to raise RecursionError, huge
arrays, and lone surrogates (`"\\ud800"` decodes, then fails when the string is encoded to be stored or sent).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32  # the deepest body any endpoint takes (a Telegram update) is under 10 levels
MAX_ITEMS = 1000  # per array or object
MAX_INT_DIGITS = 19  # within a signed 64-bit integer
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonProblem(ValueError):
    """Why a body is not JSON we take: `field` is a JSON path ("$" for the whole body), `code` is stable."""

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise JsonProblem("$", "number_out_of_range", f"integers may have at most {MAX_INT_DIGITS} digits")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonProblem("$", "number_out_of_range", f"{text[:20]} is not a finite number")
    return value


def _constant(name: str) -> Any:
    raise JsonProblem("$", "number_out_of_range", f"{name} is not a JSON number")


def loads(body: bytes | str) -> Any:
    """The parsed value, or JsonProblem: not UTF-8, not JSON, a number out of range, too deep or too big."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise JsonProblem("$", "malformed_json", "the body is not UTF-8") from None
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except RecursionError:
        raise JsonProblem("$", "too_deep", f"the body may nest at most {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as error:
        raise JsonProblem("$", "malformed_json", f"the body is not valid JSON: {error}") from None
    check(value)
    return value


def check(value: Any) -> None:
    """JsonProblem (naming the path) for nesting over MAX_DEPTH, a container over MAX_ITEMS, a lone surrogate."""
    pending: list[tuple[Any, str, int]] = [(value, "$", 0)]
    while pending:
        item, path, depth = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise JsonProblem(path, "invalid_string", f"{path} holds a lone surrogate (not a character)")
            continue
        if not isinstance(item, dict | list):
            continue
        if depth >= MAX_DEPTH:
            raise JsonProblem(path, "too_deep", f"the body may nest at most {MAX_DEPTH} levels")
        if len(item) > MAX_ITEMS:
            raise JsonProblem(path, "too_many_items", f"{path} may hold at most {MAX_ITEMS} items")
        if isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if len(key) <= 64 and not _SURROGATE.search(key) else f"{path}.?"
                if _SURROGATE.search(key):
                    raise JsonProblem(child_path, "invalid_string", "a key holds a lone surrogate")
                pending.append((child, child_path, depth + 1))
        else:
            pending.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
