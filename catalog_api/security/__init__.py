"""Credential handling: secret references and the local encrypted store."""
