"""Ranked full-text search over the catalog with filters and facet counts (`query`), and its index (`documents`)."""
