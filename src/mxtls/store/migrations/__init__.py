"""Alembic migrations of the history database (run by :func:`mxtls.store.db.upgrade`)."""
