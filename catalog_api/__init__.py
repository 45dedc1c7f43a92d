"""The catalog application: owns the catalog database and exposes crawlers through GraphQL, REST and the CLI."""
__version__ = "0.1.0"
