"""Querysets compiled to SQL once per database, run with new parameters on every call.

The page-load ping's two lookups (the token with its contact and widget; the contact's
conversations with unread counts) cost about four times as much to *compile* as to run:
the ORM resolves joins, ordering and GROUP BY columns anew for every request, though only
a parameter differs. A :class:`Prepared` builds its queryset once with stand-in values,
keeps the compiler that turned it into SQL, and on each call runs a copy of that compiler
on the caller's connection with the real values in their place. Rows become model
instances exactly as the queryset's own iteration makes them.

Only for querysets whose parameters are plain values (no subqueries whose shape depends
on them; an ``__in`` only of a fixed number of stand-ins, one per value, as
``identity.resolve_tokens`` pads its batches): if a stand-in does not come out of the
compiler exactly once (the ORM folded or repeated it), the queryset is simply built and
run as usual.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.sql.compiler import SQLCompiler

M = TypeVar("M", bound=Model)

# Values no caller passes: compiled in place of the real ones, then found in the params.
_STAND_INS: dict[type, Callable[[int], Any]] = {
    int: lambda i: -(2**53) - i,
    str: lambda i: f"\x00chatwidget-prepared-{i}",
}


class _Compiled:
    def __init__(self, compiler: SQLCompiler, sql: str, slots: list[int | None],
                 params: tuple[Any, ...]) -> None:
        self.compiler, self.sql, self.slots, self.params = compiler, sql, slots, params
        # Which column needs which conversion is as fixed as the SQL (finding out walks every
        # column's field each time). The converters read only the alias's settings (its
        # time zone), never the connection's state, so the first thread's serve every thread.
        self.converters = compiler.get_converters(
            [column[0] for column in compiler.select[: compiler.col_count]])


class Prepared(Generic[M]):
    """``build(*values)`` → queryset; ``prepared(*values)`` → its rows, compiled once."""

    def __init__(self, build: Callable[..., QuerySet[M]], *types: type) -> None:
        self.build = build
        self.stand_ins = [_STAND_INS[kind](index) for index, kind in enumerate(types)]
        self._template: QuerySet[M] | None = None
        self._compiled: dict[str, _Compiled | None] = {}
        self._lock = threading.Lock()

    def __call__(self, *values: Any) -> list[M]:
        if self._template is None:
            self._template = self.build(*self.stand_ins)
        using = self._template.db
        # Per database and backend: a test may point an alias at another backend.
        key = f"{using}:{connections[using].vendor}"
        compiled = self._compiled.get(key, False)
        if compiled is False:
            with self._lock:
                compiled = self._compiled[key] = self._compile(using)
        if compiled is None:
            return list(self.build(*values))
        params = tuple(compiled.params[i] if slot is None else values[slot]
                       for i, slot in enumerate(compiled.slots))
        queryset = self._template._chain()
        queryset.query.get_compiler = _Runner(compiled, params)  # type: ignore[method-assign]
        return list(queryset)

    def _compile(self, using: str) -> _Compiled | None:
        assert self._template is not None
        compiler = self._template.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        slots = [self.stand_ins.index(p) if p in self.stand_ins else None for p in params]
        if sorted(s for s in slots if s is not None) != list(range(len(self.stand_ins))):
            return None
        return _Compiled(compiler, sql, slots, tuple(params))


class _Runner:
    """Hands the queryset's iteration a copy of the compiled compiler, on this thread's
    connection (connections are per thread), answering ``as_sql`` with the new values."""

    def __init__(self, compiled: _Compiled, params: tuple[Any, ...]) -> None:
        self.compiled, self.params = compiled, params

    def __call__(self, using: str | None = None, connection: Any = None,
                 elide_empty: bool = True) -> SQLCompiler:
        compiler = copy.copy(self.compiled.compiler)
        compiler.connection = connection if connection is not None else connections[using]
        sql, params, converters = self.compiled.sql, self.params, self.compiled.converters
        compiler.as_sql = lambda *args, **kwargs: (sql, params)  # type: ignore[method-assign]
        compiler.get_converters = lambda expressions: converters  # type: ignore[method-assign]
        return compiler


class PreparedBatches(Generic[M]):
    """A query over a variable number of items, compiled once per batch size.

    The items are padded to the next of a few sizes by repeating the first (the query must
    not care, as ``IN`` or an ``OR`` of equal terms does not) and longer lists run in
    chunks of the largest, so a burst of any size costs a handful of compilations per
    process. ``build(*items)`` gets one value per item, or a tuple per item when an item
    has several (``*item_types``).
    """

    SIZES = (1, 2, 4, 8, 16, 32)

    def __init__(self, build: Callable[..., QuerySet[M]], *item_types: type) -> None:
        self.width = width = len(item_types)

        def from_flat(*flat: Any) -> QuerySet[M]:
            if width == 1:
                return build(*flat)
            return build(*(tuple(flat[i:i + width]) for i in range(0, len(flat), width)))

        self.by_size = {size: Prepared(from_flat, *item_types * size) for size in self.SIZES}

    def __call__(self, items: Sequence[Any]) -> list[M]:
        rows: list[M] = []
        largest = self.SIZES[-1]
        for start in range(0, len(items), largest):
            chunk = list(items[start:start + largest])
            size = next(size for size in self.SIZES if size >= len(chunk))
            chunk += [chunk[0]] * (size - len(chunk))
            flat = chunk if self.width == 1 else [value for item in chunk for value in item]
            rows += self.by_size[size](*flat)
        return rows
