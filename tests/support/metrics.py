"""Reading /metrics as Prometheus does: the text exposition parsed by prometheus_client's own parser."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from catalog_api.bootstrap import build_context
from catalog_api.services.context import ServiceContext
from catalog_api.services.jobs.broker import create_broker
from tests.support.postgres import service_missing


@dataclass(frozen=True)
class Scrape:
    samples: dict[tuple[str, frozenset], float]

    def value(self, name: str, /, **labels: str) -> float:
        """The sample `name` with exactly `labels`; 0 when the series does not exist (yet)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def label_values(self, name: str, label: str) -> set[str]:
        return {dict(key)[label] for sample, key in self.samples if sample == name and label in dict(key)}

    def names(self) -> set[str]:
        return {name for name, _ in self.samples}


def scrape(client, **headers: str) -> Scrape:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain"), response.headers
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return Scrape(samples)


@contextmanager
def redis_broker_context(catalog_settings, redis_url: str) -> Iterator[ServiceContext]:
    """A catalog whose jobs go through the Redis database `redis_url`, emptied first (nothing left over from an
    earlier run), without a relay."""
    settings = catalog_settings.model_copy(update={"broker_url": redis_url, "events_relay_enabled": False})
    try:
        broker = create_broker(settings)
        broker.client.flushdb()
        broker.close()
    except Exception as error:  # any failure to reach Redis
        service_missing("redis", error)
    ctx = build_context(settings, migrate=True, runner="broker")
    try:
        yield ctx
    finally:
        ctx.close()
