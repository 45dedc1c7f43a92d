"""The web UI at `/ui`: one HTML shell for every page, Preact components as plain ES modules (no build step), data
through the public GraphQL and REST APIs with the caller's own credentials."""
