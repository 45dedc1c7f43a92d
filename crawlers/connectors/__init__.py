"""Built-in connectors, one module per source kind."""
