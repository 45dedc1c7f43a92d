"""The catalog's side of events: the transactional outbox (`outbox`), the relay that publishes it (`relay`), the
publishers the settings configure (`publishers`), webhook subscriptions and deliveries (`webhooks`), and the
cross-instance fan-out of live feeds (`fanout`). The envelope, payloads and publishers themselves are the
`events` library."""
