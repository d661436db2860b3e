"""Raw SQL helpers for the few hot paths (the API key on every API call, ingestion) where
building an ORM query, or planning a statement, costs more than running it.

``RowReader(Model, "alias")`` gives the select list of every concrete field of ``Model`` (in
field order, qualified by ``alias``) and turns those columns of a row back into an instance,
with the same database converters the ORM applies (JSON, …). New fields are picked up by
construction. Row-level security applies as to any query: the caller runs tenant tables inside
``tenant_context``.
"""

from __future__ import annotations

import re

from django.db import connection


class RowReader:
    def __init__(self, model, alias: str):
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        qn = connection.ops.quote_name
        self.columns = ", ".join(f"{alias}.{qn(f.column)}" for f in self.fields)
        self.attnames = [f.attname for f in self.fields]
        self._converters: list | None = None

    def _converters_for(self) -> list:
        if self._converters is None:
            table = self.model._meta.db_table
            found = []
            for i, f in enumerate(self.fields):
                col = f.get_col(table)
                funcs = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
                if funcs:
                    found.append((i, funcs, col))
            self._converters = found
        return self._converters

    def instance(self, values):
        """The model instance of ``values`` (the columns of ``self.columns``, in order)."""
        values = list(values)
        for i, funcs, col in self._converters_for():
            for func in funcs:
                values[i] = func(values[i], col, connection)
        return self.model.from_db(connection.alias, self.attnames, values)


def split_row(row, readers) -> list[tuple]:
    """``row`` cut into the columns of each reader in turn (as their ``columns`` were joined
    in the select list), then whatever follows them."""
    parts, start = [], 0
    for reader in readers:
        end = start + len(reader.fields)
        parts.append(tuple(row[start:end]))
        start = end
    parts.append(tuple(row[start:]))
    return parts


_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class Prepared:
    """A statement PREPAREd once per database session and EXECUTEd after that: Postgres
    parses and plans it once per session instead of on every call (for the ingest path that
    planning was about as much server time as running the statements).

    ``sql`` uses ``$1 … $n``; ``types`` names each parameter's type. ``execute(cursor,
    params)`` runs it on Django's cursor (params adapted by psycopg2 as usual). Plans are
    Postgres's to keep right: a schema change or ANALYZE invalidates them. PREPARE is not
    transactional, so a rolled-back transaction keeps the statement; one that fails is not
    recorded and is prepared again next time.
    """

    def __init__(self, name: str, sql: str, types: list[str]):
        if not _NAME.match(name):
            raise ValueError(f"bad statement name {name!r}")
        self.name = name
        self.sql = sql
        self.types = types
        self.prepare_sql = f"PREPARE {name} ({', '.join(types)}) AS {sql}"
        self.execute_sql = f"EXECUTE {name} ({', '.join(['%s'] * len(types))})"

    def ensure(self, cursor) -> None:
        # Names prepared on this thread's database session, kept on Django's connection
        # wrapper with the session's DB-API connection: a reconnect starts with none.
        raw = connection.connection
        state = getattr(connection, "_coachhub_prepared", None)
        if state is None or state[0] is not raw:
            state = (raw, set())
            connection._coachhub_prepared = state
        known = state[1]
        if self.name not in known:
            cursor.execute(self.prepare_sql)
            known.add(self.name)

    def replan(self, cursor) -> None:
        """Prepare (and so plan) it again on this session. A plan is made with the statistics
        of its time and kept by the session until an ANALYZE; inside one long transaction that
        grows a table (a CSV import) no ANALYZE can see the new rows, and a plan made while
        the table was empty stays wrong for the whole transaction. Planned again once the rows
        exist, it sees them (the planner reads the table's current size)."""
        self.ensure(cursor)
        cursor.execute(f"DEALLOCATE {self.name}; {self.prepare_sql}")

    def execute(self, cursor, params) -> None:
        self.ensure(cursor)
        cursor.execute(self.execute_sql, params)
