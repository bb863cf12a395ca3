"""Prebuilt read statements run straight on the driver's cursor.

The lists every signed-in page shows (the inbox, the dashboard's blocks, the documents list, the
staff queue, the header's partner) are Core statements built once at import. Run through
SQLAlchemy, each paid about 55 µs of Python besides the database's own work (the compiled-cache
lookup, the execution context, the result object): for a 20 µs query, most of the cost.
`rows(stmt, params)` compiles each statement once per dialect and then only
  - completes the parameters (the statement's own values, the bind processors of its types),
  - calls `before_cursor_execute` listeners as SQLAlchemy would (query counting, fault injection),
  - executes on the DBAPI cursor of the session's connection (so in the request's transaction),
  - applies the result processors of the selected columns (UTC datetimes, enums) and makes
    named tuples: `row.name`, `row[0]` and unpacking work as on SQLAlchemy rows.
Statements that SQLAlchemy must re-render per call (expanding IN lists) are refused on
preparation: run those through SQLAlchemy. tests/test_reads.py checks that both paths give the
same rows for every statement that uses this module, on SQLite and PostgreSQL.
"""
from __future__ import annotations

from collections import namedtuple

from .extensions import db


class _Prepared:
    __slots__ = ("statement", "sql", "order", "defaults", "binders", "row", "processors")

    def __init__(self, statement, dialect):
        compiled = statement.compile(dialect=dialect)
        sql = compiled.string
        if "POSTCOMPILE" in sql:
            raise ValueError("reads.rows cannot run a statement with expanding parameters")
        self.statement = statement  # kept alive: the cache is keyed by its id
        self.sql = sql
        self.order = tuple(compiled.positiontup) if compiled.positional else None
        self.defaults = {name: bind.value for name, bind in compiled.binds.items()
                         if not bind.required and bind.callable is None}
        binders = []
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                binders.append((name, processor))
        self.binders = tuple(binders)
        columns = list(statement.selected_columns)
        # The names SQLAlchemy's rows carry: a repeated name gets a suffix there ("status_1").
        names = [entry[0] for entry in compiled._result_columns]
        if len(names) != len(columns):
            raise ValueError("reads.rows runs plain SELECTs of columns")
        self.row = namedtuple("Row", names, rename=True)
        processors = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]
        self.processors = tuple((index, processor) for index, processor in enumerate(processors) if processor)

    def arguments(self, params: dict):
        values = self.defaults.copy()
        values.update(params)
        for name, processor in self.binders:
            value = values.get(name)
            if value is not None:
                values[name] = processor(value)
        if self.order is not None:
            return tuple(values[name] for name in self.order)
        return values

    def make_rows(self, raw: list) -> list:
        make = self.row._make
        if not self.processors:
            return [make(values) for values in raw]
        made = []
        for values in raw:
            values = list(values)
            for index, processor in self.processors:
                values[index] = processor(values[index])
            made.append(make(values))
        return made


_prepared: dict[tuple[int, str], _Prepared] = {}


def rows(statement, params: dict) -> list:
    """All rows of a prebuilt Core SELECT, as named tuples (see the module's text).

    On PostgreSQL psycopg prepares a statement run five times on a connection, and the server may
    then plan it once without the values (a generic plan): write statements whose good plan does
    not depend on them (the documents list takes its page before joining)."""
    connection = db.session.connection()
    dialect = connection.dialect
    key = (id(statement), dialect.name)
    prepared = _prepared.get(key)
    if prepared is None or prepared.statement is not statement:
        prepared = _prepared[key] = _Prepared(statement, dialect)
    arguments = prepared.arguments(params)
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        if connection.dispatch.before_cursor_execute:
            connection.dispatch.before_cursor_execute(connection, cursor, prepared.sql, arguments, None, False)
        cursor.execute(prepared.sql, arguments)
        raw = cursor.fetchall()
    finally:
        cursor.close()
    return prepared.make_rows(raw)


def scalars(statement, params: dict) -> list:
    """The first column of each row."""
    return [row[0] for row in rows(statement, params)]


def attach(cls, values: dict):
    """The entity of these column values (a `rows` row), as a query would load it into the
    session: the one the session holds already when there is one, else a new one, persistent
    and unchanged (a change to it is flushed as to any loaded entity)."""
    from sqlalchemy import inspect
    from sqlalchemy.orm import make_transient_to_detached
    from sqlalchemy.orm.attributes import instance_state

    mapper = inspect(cls)
    known = db.session.identity_map.get(mapper.identity_key_from_primary_key([values["id"]]))
    if known is not None:
        return known
    entity = mapper.class_manager.new_instance()
    # The instance's __dict__ is its loaded state; make_transient_to_detached then marks every
    # value as the database's (nothing to flush) and gives the entity its identity.
    entity.__dict__.update(values)
    make_transient_to_detached(entity)
    # What Session.add does to a detached entity, without its cascade: that walks the relationships
    # for loaded related objects to add too, and a new entity has none (about 40 k instructions
    # each; a signed-in page attaches four). tests/test_reads.py checks the entity is persistent.
    db.session()._save_or_update_impl(instance_state(entity))
    return entity


def split(row, *shapes) -> list:
    """The entities a row of `entity_columns` runs holds, then what follows them: `shapes` are
    (class, attribute names) in the order of the row's columns; each becomes `attach(class, …)`.
    Returns [entity, …, rest of the row as a tuple]."""
    values, start, found = tuple(row), 0, []
    for cls, keys in shapes:
        found.append(attach(cls, dict(zip(keys, values[start:start + len(keys)]))))
        start += len(keys)
    found.append(values[start:])
    return found


def entity_columns(cls) -> tuple[list[str], list]:
    """The attribute names of `cls`'s columns and the table columns to select for them."""
    from sqlalchemy import inspect

    mapper = inspect(cls)
    keys = [attribute.key for attribute in mapper.column_attrs]
    return keys, [attribute.columns[0] for attribute in mapper.column_attrs]
