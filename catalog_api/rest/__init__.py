"""REST API under /api/v1: thin routes over catalog_api.services."""
