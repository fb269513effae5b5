"""GitHub's filter patterns (``branches:``, ``tags:``, ``paths:`` under ``on:``).

Not part of GitHub's npm parser (GitHub matches them on its servers), so written here
from the documented rules: ``*`` matches within one path segment, ``**`` across
segments, ``?`` and ``+`` repeat the previous character, ``[...]`` is a character class,
``!`` in front of a pattern excludes, and the last pattern that matches decides.
"""

from __future__ import annotations

import re
from typing import Any


def glob_to_regex(pattern: str) -> re.Pattern:
    """A GitHub filter pattern (``*``, ``**``, ``?``, ``+``, ``[...]``) as a regex."""
    out, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            if pattern[i : i + 2] == "**":
                out += ".*"
                i += 2
                continue
            out += "[^/]*"
        elif char in "?+":
            out += char
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out += re.escape(char)
            else:
                out += pattern[i : end + 1]
                i = end + 1
                continue
        elif char == "\\" and i + 1 < len(pattern):
            out += re.escape(pattern[i + 1])
            i += 2
            continue
        else:
            out += re.escape(char)
        i += 1
    return re.compile(out + r"\Z")


def filter_matches(patterns: Any, value: str) -> bool:
    """GitHub's filter rule: the last matching pattern wins; ``!pattern`` excludes."""
    if isinstance(patterns, str):
        patterns = [patterns]
    result = False
    for pattern in patterns or []:
        pattern = str(pattern)
        negative = pattern.startswith("!")
        if glob_to_regex(pattern[1:] if negative else pattern).match(value):
            result = not negative
    return result
