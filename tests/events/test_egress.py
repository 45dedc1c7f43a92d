"""Where webhooks may go: every spelling of an address is judged by the address it reaches, every address a name
resolves to is checked, and a connection goes to the checked address, never to a second DNS answer.

The resolver is the boundary: tests that need a host name answering something particular script it; the others use
the operating system's `getaddrinfo`, which is what the socket would use.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from ipaddress import ip_address

import httpx
import pytest

from events import CatalogEvent, DestinationRefused, EgressPolicy, EventType, WebhookPublisher, WebhookRetryPolicy
from events import WebhookSubscription as Subscription
from events.egress import CheckedTransport
from events.examples import example_events
from tests.support.events import Receiver

SECRET = "whsec-test-0123456789abcdef"
ONCE = WebhookRetryPolicy(attempts=1, timeout_s=2)

METADATA = ["169.254.169.254", "169.254.0.1", "fe80::1", "fd00:ec2::254", "::ffff:169.254.169.254",
            "::ffff:a9fe:a9fe", "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "::169.254.169.254"]
PRIVATE = ["127.0.0.1", "127.1.2.3", "::1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "fc00::1", "fd12:3456::1",
           "100.64.0.1", "0.0.0.0", "::", "224.0.0.1", "ff02::1", "240.0.0.1", "192.0.2.10", "::ffff:127.0.0.1",
           "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:a00:1::1"]
PUBLIC = ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.216.34", "64:ff9b::5db8:d822"]


@pytest.mark.parametrize("address", METADATA)
def test_link_local_and_metadata_addresses_are_refused_even_when_private_networks_are_allowed(address: str) -> None:
    for policy in (EgressPolicy(), EgressPolicy(allow_private=True)):
        with pytest.raises(DestinationRefused, match="link-local address") as refused:
            policy.addresses(address, 80)
        assert not refused.value.private


@pytest.mark.parametrize("address", PRIVATE)
def test_private_loopback_shared_and_reserved_addresses_are_refused_unless_allowed(address: str) -> None:
    with pytest.raises(DestinationRefused, match="refused unless private networks are allowed") as refused:
        EgressPolicy().addresses(address, 80)
    assert refused.value.private
    assert EgressPolicy(allow_private=True).addresses(address, 80) == [str(ip_address(address))]


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert EgressPolicy().addresses(address, 443) == [str(ip_address(address))]


@pytest.mark.parametrize(("url", "reason"), [
    ("http://2852039166/", "2852039166 resolves to a link-local address"),
    ("http://0xA9FEA9FE/", "0xa9fea9fe resolves to a link-local address"),
    ("http://[::ffff:169.254.169.254]/", "::ffff:169.254.169.254 is a link-local address"),
    ("http://127.1/", "127.1 resolves to a loopback address"),
    ("http://localhost:8080/", "localhost resolves to a loopback address"),
])
def test_other_spellings_are_judged_by_the_address_the_system_resolver_reaches(url: str, reason: str) -> None:
    with pytest.raises(DestinationRefused) as refused:
        EgressPolicy().check_url(url)
    assert refused.value.reason.startswith(reason)


def test_a_name_with_one_bad_address_among_good_ones_is_refused_and_the_addresses_stay_out_of_the_message() -> None:
    policy = EgressPolicy(resolve=lambda host, port: ["93.184.216.34", "10.1.2.3"])
    with pytest.raises(DestinationRefused) as refused:
        policy.addresses("mixed.example", 443)
    assert refused.value.reason == ("mixed.example resolves to a private address, refused unless private networks "
                                    "are allowed")


class ScriptedDns:
    """A resolver answering from a script, one answer per call, and counting the calls."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append(host)
        if not self.answers:
            raise AssertionError(f"{host} was resolved again after its checked answer")
        return self.answers.pop(0)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    local = Receiver()
    yield local
    local.close()


def test_the_connection_goes_to_the_checked_address_and_the_url_keeps_its_host_name(receiver: Receiver) -> None:
    """`hooks.test` exists for the scripted resolver only: the request arrives because the transport connects to the
    address it checked, resolving the name exactly once."""
    dns = ScriptedDns(["127.0.0.1"])
    transport = CheckedTransport(EgressPolicy(allow_private=True, resolve=dns))
    with httpx.Client(transport=transport) as client:
        answer = client.post(f"http://hooks.test:{receiver.port}/hook", content=b"{}")
    assert answer.status_code == 200
    assert dns.calls == ["hooks.test"]
    [(_, headers, _)] = receiver.requests
    assert headers["Host"] == f"hooks.test:{receiver.port}"


def test_dns_rebinding_between_the_check_and_the_delivery_is_refused(receiver: Receiver) -> None:
    """The name answers a public address when the subscription is checked and the receiver's loopback address when
    the event is delivered: the delivery's own check refuses it, and nothing reaches the receiver."""
    dns = ScriptedDns(["93.184.216.34"], ["127.0.0.1"])
    policy = EgressPolicy(resolve=dns)
    url = f"http://rebind.test:{receiver.port}/hook"
    policy.check_url(url)  # what the catalog does when the subscription is saved
    example = example_events()[EventType.COLUMN_ADDED]
    sent = CatalogEvent.create(example.payload(), subject=example.subject)
    with WebhookPublisher([Subscription(id="s", url=url, secret=SECRET)], retry=ONCE, egress=policy) as publisher:
        [delivery] = publisher.publish([sent]).deliveries
    assert not delivery.delivered and not delivery.retryable and delivery.status_code is None
    assert delivery.error == ("destination refused: rebind.test resolves to a loopback address, refused unless "
                              "private networks are allowed")
    assert dns.calls == ["rebind.test", "rebind.test"] and receiver.requests == []


def test_a_name_that_does_not_resolve_is_a_connection_error_worth_retrying(receiver: Receiver) -> None:
    def nowhere(host: str, port: int) -> Sequence[str]:
        raise OSError("Name or service not known")

    with (httpx.Client(transport=CheckedTransport(EgressPolicy(resolve=nowhere))) as client,
          pytest.raises(httpx.ConnectError, match="cannot resolve gone.test: Name or service not known")):
        client.post("http://gone.test/hook")


def test_the_next_address_is_tried_when_one_refuses_the_connection(receiver: Receiver) -> None:
    """Like a socket's own connect: every checked address in turn, the first that answers serves."""
    dns = ScriptedDns(["::1", "127.0.0.1"])  # the receiver listens on IPv4 only
    with httpx.Client(transport=CheckedTransport(EgressPolicy(allow_private=True, resolve=dns))) as client:
        assert client.post(f"http://dual.test:{receiver.port}/hook").status_code == 200
    assert len(receiver.requests) == 1
