"""Operations: Prometheus metrics (`metrics`: what happened, recorded where it happens; `state`: what the catalog
holds now, read when /metrics is scraped; `http`: the ASGI middleware and the exposition endpoint; `worker`: a
worker's multiprocess exposition), logs (`context`: the request id and trace context of the request or job at
work; `logs`: the JSON or text log of the long-running commands; `worker_logs`: dramatiq's command line in it), and
traces (`tracing`: OpenTelemetry spans, exported to Azure Monitor or OTLP when configured)."""
