"""docs/limits.md is a contract: its values are the code's, and no bound is missing from it.

Every table row names where its bound is set: a field of ``Limits`` or
``Timeouts`` (the default value counts), a module constant, or a library's
(``httpcore``'s) constant.  A numeric value must equal the code's; the other
names must exist.  Every field of ``Limits`` and ``Timeouts`` must have a row.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from pathlib import Path

from mxtls.config import Limits, Timeouts

DOC = Path(__file__).resolve().parent.parent / "docs" / "limits.md"
EXTERNAL = ("OpenSSL", "httpx")  # bounds that live in a library we cannot import from
_ROW = re.compile(r"^\|(?P<cells>.+)\|\s*$")
_CODE = re.compile(r"`([^`]+)`")


def rows() -> list[list[str]]:
    table = []
    for line in DOC.read_text().splitlines():
        match = _ROW.match(line)
        if match is None:
            continue
        cells = [c.strip() for c in match["cells"].split("|")]
        if cells[0] in ("Bound", "---") or set(cells[0]) <= {"-"}:
            continue
        table.append(cells)
    return table


def resolve(path: str) -> object:
    """``Limits.x`` / ``Timeouts.x`` (their defaults), or ``package.module.NAME[.attr]``."""
    head, _, rest = path.partition(".")
    if head == "Limits":
        return getattr(Limits(), rest)
    if head == "Timeouts":
        return getattr(Timeouts(), rest)
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise AssertionError(f"{path!r} names nothing importable")


def test_every_value_is_the_codes() -> None:
    table = rows()
    assert len(table) > 40
    for bound, value, _unit, where, _option, outcome in table:
        assert outcome, f"{bound}: say what a peer that exceeds it gets"
        if where.lstrip("`").startswith(EXTERNAL):
            continue
        names = _CODE.findall(where)
        assert len(names) == 1, f"{bound}: 'Set in' must name one thing, not {where!r}"
        actual = resolve(names[0])
        if isinstance(actual, int | float) and not isinstance(actual, bool):
            documented = _CODE.findall(value)
            assert documented, f"{bound}: the value of {names[0]} must be written as `{actual}`"
            assert float(documented[0]) == float(actual), (
                f"{bound}: docs/limits.md says {documented[0]}, {names[0]} is {actual}"
            )


def test_every_limit_and_timeout_is_documented() -> None:
    documented = {_CODE.findall(row[3])[0] for row in rows() if _CODE.findall(row[3])}
    fields = {f"Limits.{f.name}" for f in dataclasses.fields(Limits)}
    fields |= {f"Timeouts.{f.name}" for f in dataclasses.fields(Timeouts)}
    assert not fields - documented, f"missing from docs/limits.md: {sorted(fields - documented)}"
