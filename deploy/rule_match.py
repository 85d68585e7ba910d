"""OCI Events rule conditions, evaluated as Events does: named fields only, arrays are OR, `*` wildcards."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any


def matches(condition: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether an event matches a rule condition.

    Every field the condition names must be present in the event and match; fields it does not name
    are ignored. An object recurses; an array matches when any of its values does; a string matches
    with `*` standing for any run of characters (itself included), anything else must be equal.
    """
    for name, wanted in condition.items():
        if name not in event:
            return False
        actual = event[name]
        if isinstance(wanted, Mapping):
            if not isinstance(actual, Mapping) or not matches(wanted, actual):
                return False
            continue
        options = wanted if isinstance(wanted, list) else [wanted]
        # An event field holding an array matches when any of its elements does.
        values = actual if isinstance(actual, list) else [actual]
        if not any(_value_matches(option, value) for option in options for value in values):
            return False
    return True


def _value_matches(option: object, value: object) -> bool:
    if isinstance(option, str) and isinstance(value, str):
        return _pattern(option).fullmatch(value) is not None
    if isinstance(option, bool) or isinstance(value, bool):
        return option is value
    return option == value


@cache
def _pattern(option: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in option.split("*")), re.DOTALL)
