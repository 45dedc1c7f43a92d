"""The catalog's rules, one module per capability; GraphQL, REST, the CLI and workers all call these."""
