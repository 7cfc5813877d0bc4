"""Statements the ORM builds and compiles once per process: the reads and the update of the write path.

One append runs about five short reads. PostgreSQL answers each in some
tens of microseconds, while building its queryset and compiling it to SQL
costs the ORM several times that in Python (docs/benchmarks.md, "What
bounds it"). A CompiledRead (a CompiledUpdate) asks the ORM for the statement once, with a
mark in place of each parameter, and then runs that SQL on a plain cursor
with the values put where the marks were. The ORM still writes every
statement (joins, quoting, the select_for_update clause); nothing here is
hand-written SQL. Elsewhere (SQLite) the queryset is built with the values
and run as usual.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, ForeignObject, Model, Q, QuerySet
from django.db.models.lookups import In
from django.db.models.query import ValuesListIterable
from django.db.models.sql import UpdateQuery


class Mark(int):
    """A stand-in for one parameter while its statement is compiled: an int no real value is likely to take.

    In the range of every integer field but the small ones: the ORM drops a
    comparison with a value out of its field's range (``rows__gte=-1`` of a
    positive field is always true), and the parameter would be lost.
    """

    name: str

    def __new__(cls, name: str, index: int) -> Mark:
        mark = super().__new__(cls, 2_147_000_001 + index)
        mark.name = name
        return mark


class AnyOf(In):  # type: ignore[type-arg]
    """``field__any_of=values``: the field's value is one of ``values``.

    As ``__in`` on every backend, but on PostgreSQL the values travel as one
    array parameter (``= ANY(%s)``), so the statement's text is the same
    whatever their number and a CompiledRead can take a list for one mark.
    """

    lookup_name = "any_of"

    def get_prep_lookup(self) -> Any:
        if isinstance(self.rhs, Mark):
            return self.rhs
        return super().get_prep_lookup()

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        if isinstance(self.rhs, Mark):
            values: Any = self.rhs
        else:
            values = [field.get_db_prep_value(value, connection, prepared=True) for value in self.rhs]
        return f"{lhs} = ANY(%s::{field.db_type(connection)}[])", (*lhs_params, values)


# A foreign key's lookups are its own, not Field's: register it on both.
Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)


@dataclass(frozen=True, slots=True)
class _Statement:
    sql: str
    # Each parameter of the statement: the name of a value to put there, or a constant of the query itself.
    params: tuple[tuple[str | None, Any], ...]
    # The ORM's converters of the selected columns by index (from_db_value, the backend's), usually none.
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]


class _Compiled:
    """What a compiled read and a compiled update share: the marks, the statement kept per alias, the binding."""

    def __init__(self, names: tuple[str, ...], label: str) -> None:
        self.names = names
        self.label = label
        self._compiled: dict[str, _Statement] = {}
        self._lock = threading.Lock()

    def _statement(self, using: str, values: dict[str, Any]) -> tuple[_Statement | None, list[Any]]:
        """The statement and its parameters on PostgreSQL; (None, []) elsewhere."""
        if set(values) != set(self.names):
            raise TypeError(f"{self.label} takes {sorted(self.names)}, got {sorted(values)}")
        if connections[using].vendor != "postgresql":
            return None, []
        statement = self._compiled.get(using) or self._compile(using)
        params = [_bound(values[name]) if name is not None else constant for name, constant in statement.params]
        return statement, params

    def _compile(self, using: str) -> _Statement:
        marks = {name: Mark(name, index) for index, name in enumerate(self.names)}
        sql, compiled, converters = self._compiled_sql(using, marks)
        # A text field's comparison gets the mark as text.
        by_value: dict[Any, str] = {int(mark): name for name, mark in marks.items()}
        by_value.update({str(int(mark)): name for name, mark in marks.items()})
        params = tuple(
            (by_value[param], None) if isinstance(param, int | str) and not isinstance(param, bool) and param in by_value
            else (None, param)
            for param in compiled
        )
        unused = set(self.names) - {name for name, _ in params}
        if unused:
            raise TypeError(
                f"{self.label} does not use its parameters {sorted(unused)}: a parameter must reach the"
                " statement as it was given (compared with an integer or text field, or a list with __any_of)"
            )
        statement = _Statement(sql=sql, params=params, converters=converters)
        with self._lock:
            self._compiled[using] = statement
        return statement

    def _compiled_sql(self, using: str, marks: dict[str, Mark]) -> tuple[str, tuple[Any, ...], Any]:
        raise NotImplementedError


def _bound(value: Any) -> Any:
    # psycopg takes a list as an array; the callers may hand any collection to __any_of.
    return list(value) if isinstance(value, Collection) and not isinstance(value, str | bytes) else value


class CompiledRead(_Compiled):
    """A read built by ``build``, compiled once per process and database alias on PostgreSQL.

    ``build`` takes the statement's parameters as keyword arguments and
    returns a queryset of ``values_list``; a parameter compared with
    ``__any_of`` may be given any collection of values. ``rows(**values)``
    returns what the queryset would, as a list of tuples. A statement
    that locks (select_for_update) is compiled at its first run, inside
    the caller's transaction, as the ORM requires.
    """

    def __init__(self, build: Callable[..., QuerySet[Any, Any]]) -> None:
        super().__init__(tuple(inspect.signature(build).parameters), build.__qualname__)
        self.build = build

    def rows(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[tuple[Any, ...]]:
        statement, params = self._statement(using, values)
        if statement is None:
            return list(_values_list(self.build(**values)).using(using))
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, params)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
        if not statement.converters:
            return rows
        return [_converted(row, statement.converters, connection) for row in rows]

    def _compiled_sql(self, using: str, marks: dict[str, Mark]) -> tuple[str, tuple[Any, ...], Any]:
        compiler = _values_list(self.build(**marks)).query.get_compiler(using)
        sql, params = compiler.as_sql()
        converters = compiler.get_converters([column for column, _, _ in compiler.select])
        return sql, tuple(params), tuple(
            (index, tuple(functions), expression) for index, (functions, expression) in converters.items()
        )


class CompiledUpdate(_Compiled):
    """``model.objects.filter(**where).update(**set)``, compiled once per process and alias on PostgreSQL.

    ``run(**values)`` takes one value for each name of ``where`` and ``set``
    and does not read the count of rows changed (a pipelined write learns it
    only later, ledger.db.pipelined).
    """

    def __init__(self, model: type[Model], *, where: tuple[str, ...], set: tuple[str, ...]) -> None:
        super().__init__((*where, *set), f"update of {model.__name__}")
        self.model = model
        self.where = where
        self.set = set

    def run(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> None:
        statement, params = self._statement(using, values)
        if statement is None:
            self.model._default_manager.using(using).filter(**{name: values[name] for name in self.where}).update(
                **{name: values[name] for name in self.set}
            )
            return
        with connections[using].cursor() as cursor:
            cursor.execute(statement.sql, params)

    def _compiled_sql(self, using: str, marks: dict[str, Mark]) -> tuple[str, tuple[Any, ...], Any]:
        query = UpdateQuery(self.model)
        query.add_update_values({name: marks[name] for name in self.set})
        query.add_q(Q(**{name: marks[name] for name in self.where}))
        sql, params = query.get_compiler(using).as_sql()
        return sql, tuple(params), ()


def _values_list(queryset: QuerySet[Any, Any]) -> QuerySet[Any, Any]:
    if queryset._iterable_class is not ValuesListIterable:
        raise TypeError("a CompiledRead builds a values_list() of tuples (not flat, not named)")
    return queryset


def _converted(
    row: tuple[Any, ...], converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...], connection: Any
) -> tuple[Any, ...]:
    values = list(row)
    for index, functions, expression in converters:
        for function in functions:
            values[index] = function(values[index], expression, connection)
    return tuple(values)
