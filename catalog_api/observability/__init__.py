"""Operations: Prometheus metrics (`metrics`: what happened, recorded where it happens; `state`: what the catalog
holds now, read when /metrics is scraped; `http`: the ASGI middleware and the exposition endpoint)."""
