"""The catalog's own database: SQLAlchemy models and engine/session handling."""
