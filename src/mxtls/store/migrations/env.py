"""Alembic environment: the connection comes from mxtls (``config.attributes``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from mxtls.store.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # ALTER TABLE on SQLite
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("mxtls migrations run through mxtls.store.db.upgrade()")
_run(connection)
