"""The HTTP edge shared by every route (REST, GraphQL, pages): pure ASGI middleware for request limits and browser
safety, installed in one block of `catalog_api.app`."""
