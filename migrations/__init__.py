"""Alembic migrations: the only way the catalog's schema is created or changed."""
