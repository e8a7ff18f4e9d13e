"""History: reports, findings, certificates, events, deliveries and TLS-RPT in a database.

SQLite by default (a file under the user's data directory), PostgreSQL by
URL (``postgresql+psycopg://...``).  :func:`~mxtls.store.db.open_store`
opens one and brings its schema up to date with the Alembic migrations;
:mod:`~mxtls.store.history` holds the queries.
"""

from mxtls.store.db import Store, default_url, open_store

__all__ = ["Store", "default_url", "open_store"]
