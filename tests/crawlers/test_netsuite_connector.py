"""NetsuiteConnector against a local NetSuite stand-in over real HTTP (tests/support/netsuite_server.py).

NetSuite cannot run here, so only the network edge is replaced: the connector's real httpx client, oauthlib TBA
signer and JWT signing talk to a server that verifies signatures and assertions on its own (HMAC recomputed from
the RFC 5849 base string; JWT checked with PyJWT) and executes the SuiteQL text it receives with DuckDB. Expected
columns come from the JSON Schema the server serves, expected rows from the fixture rows filtered in plain Python.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pyarrow as pa
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import ValidationError

import crawlers.netsuite.suiteql as suiteql_module
from crawlers.connectors.netsuite import NetsuiteConfig, NetsuiteConnector
from crawlers.errors import AuthenticationFailed, InvalidSourceConfig, PermissionDenied, SourceUnreachable
from crawlers.increment import IncrementPlan, IncrementRequest, IncrementStrategy
from crawlers.registry import get_connector_class
from crawlers.scope import Scope
from crawlers.snapshot import TableSnapshot
from tests.support.netsuite_accounts import BASE_TIME, TBA, account, customer_rows
from tests.support.netsuite_server import (
    CATALOG,
    SUITEQL,
    TOKEN,
    FakeNetsuite,
    RecordTypeFixture,
    customer_schema,
    iter_pages,
)

CLIENT_ID = "client-7e57"
CERTIFICATE_ID = "cert-4c3b2a"
CONCURRENCY_BODY = {
    "type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html",
    "title": "Too Many Requests",
    "status": 429,
    "o:errorDetails": [
        {"detail": "Concurrent request limit exceeded. Request blocked.", "o:errorCode": "CONCURRENCY_LIMIT_EXCEEDED"}
    ],
}


# -- factories (the account itself: tests/support/netsuite_accounts.py) ------------------------------------------


def tba_config(server: FakeNetsuite, **overrides: Any) -> NetsuiteConfig:
    values: dict[str, Any] = {
        "account_id": server.account_id,
        "base_url": server.url,
        "record_types": ["customer", "subsidiary", "employee"],
        "auth": "tba",
        **TBA,
        "backoff_initial_s": 0.001,
        "backoff_max_s": 0.01,
    }
    values.update(overrides)
    return NetsuiteConfig.model_validate(values)


def customer_table(connector: NetsuiteConnector) -> TableSnapshot:
    return connector.discover().table_map()[("record", "customer")]


def rows_of(batches: list[pa.RecordBatch]) -> list[dict[str, Any]]:
    return pa.Table.from_batches(batches).to_pylist() if batches else []


class SleepRecorder:
    """Stands in for time.sleep in the retry loop: records each wait, optionally without waiting."""

    def __init__(self, really_sleep: bool = False) -> None:
        self.waits: list[float] = []
        self.really_sleep = really_sleep

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.really_sleep:
            import time

            time.sleep(seconds)


@pytest.fixture
def server() -> Iterator[FakeNetsuite]:
    with account() as fake:
        yield fake


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> tuple[str, str]:
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture(scope="module")
def rsa_pem() -> tuple[str, str]:
    return _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="module")
def ec_pem() -> tuple[str, str]:
    return _pem(ec.generate_private_key(ec.SECP256R1()))


def oauth2_account(public_pem: str, **options: Any) -> FakeNetsuite:
    fake = account(**options)
    fake.tba = {}
    fake.oauth2 = {"client_id": CLIENT_ID, "certificate_id": CERTIFICATE_ID, "public_key": public_pem}
    return fake


def oauth2_config(server: FakeNetsuite, private_pem: str, **overrides: Any) -> NetsuiteConfig:
    values: dict[str, Any] = {
        "account_id": server.account_id,
        "base_url": server.url,
        "record_types": ["customer", "subsidiary", "employee"],
        "auth": "oauth2_client_credentials",
        "client_id": CLIENT_ID,
        "certificate_id": CERTIFICATE_ID,
        "private_key": private_pem,
    }
    values.update(overrides)
    return NetsuiteConfig.model_validate(values)


# -- discovery ---------------------------------------------------------------------------------------------------


def test_discovery_maps_the_json_schema_of_each_record_type(server: FakeNetsuite) -> None:
    connector = get_connector_class("netsuite")(tba_config(server))
    assert isinstance(connector, NetsuiteConnector)
    snapshot = connector.discover()

    assert [s.name for s in snapshot.schemas] == ["record"]
    assert [t.name for t in snapshot.tables] == ["customer", "employee", "subsidiary"]
    customer = snapshot.table_map()[("record", "customer")]
    served = customer_schema()["properties"]
    assert [c.name for c in customer.columns] == list(served)
    assert [c.ordinal for c in customer.columns] == list(range(1, len(served) + 1))
    assert {c.name: c.comment for c in customer.columns} == {name: prop["title"] for name, prop in served.items()}
    types = {c.name: c.data_type for c in customer.columns}
    assert types["id"] == "string"
    assert types["balance"] == "number"
    assert types["isInactive"] == "boolean"
    assert types["startDate"] == "string(date)"
    assert types["lastModifiedDate"] == "string(date-time)"
    assert types["subsidiary"] == "object(subsidiary)"
    assert types["currency"] == "object(currency)"
    assert types["addressBook"] == "object(customer-addressBookCollection)"
    assert types["custentity_integer"] == "integer"
    assert types["custentity_account_manager"] == "object(employee)"
    nullable = {c.name: c.nullable for c in customer.columns}
    assert {n for n, v in nullable.items() if not v} == {n for n, p in served.items() if p.get("nullable") is False}
    assert customer.properties["custom_fields"] == [n for n, p in served.items() if p.get("x-ns-custom-field")]
    assert customer.primary_key is not None and customer.primary_key.columns == ("id",)
    # References become foreign keys only towards catalogued record types: currency is not in record_types.
    fks = {(fk.columns, fk.referred_table, fk.referred_columns) for fk in customer.foreign_keys}
    assert fks == {(("subsidiary",), "subsidiary", ("id",)), (("custentity_account_manager",), "employee", ("id",))}
    employee = snapshot.table_map()[("record", "employee")]
    assert {fk.columns[0]: fk.referred_table for fk in employee.foreign_keys} == {
        "supervisor": "employee",
        "subsidiary": "subsidiary",
    }

    # One listing plus one JSON Schema per type, each signed and accepted, each counted.
    assert [(s.method, s.path, s.status) for s in server.log] == [
        ("GET", CATALOG, 200),
        ("GET", f"{CATALOG}/customer", 200),
        ("GET", f"{CATALOG}/subsidiary", 200),
        ("GET", f"{CATALOG}/employee", 200),
    ]
    assert server.log[0].query == {"select": "customer,subsidiary,employee"}
    assert all(s.headers["authorization"].startswith('OAuth realm="1234567_SB1"') for s in server.log)
    assert snapshot.queries == len(server.log)


def test_scope_limits_the_requests_and_the_foreign_keys(server: FakeNetsuite) -> None:
    connector = NetsuiteConnector(tba_config(server))
    snapshot = connector.discover(Scope(exclude_tables=("employee",)))

    assert [t.name for t in snapshot.tables] == ["customer", "subsidiary"]
    assert f"{CATALOG}/employee" not in [s.path for s in server.log]
    customer = snapshot.table_map()[("record", "customer")]
    assert [fk.referred_table for fk in customer.foreign_keys] == ["subsidiary"]
    assert snapshot.queries == 3


def test_record_types_take_the_catalogs_spelling_and_progress_is_reported(server: FakeNetsuite) -> None:
    seen: list[tuple[int, int, str]] = []
    connector = NetsuiteConnector(tba_config(server, record_types=["Customer", "SUBSIDIARY"]))
    snapshot = connector.discover(progress=lambda done, total, message: seen.append((done, total, message)))
    assert [t.name for t in snapshot.tables] == ["customer", "subsidiary"]
    assert [(done, total) for done, total, _ in seen] == [(1, 3), (2, 3), (3, 3)]


def test_connection_and_lineage(server: FakeNetsuite) -> None:
    # The account id as the host spells it is normalised to NetSuite's own spelling, also used as the realm.
    connector = NetsuiteConnector(tba_config(server, account_id="1234567-sb1"))
    check = connector.test_connection()
    assert "1234567_SB1" in check.server
    assert server.log[-1].status == 200
    assert connector.lineage_namespace().namespace == "netsuite://1234567_SB1"
    assert connector.lineage_namespace().name_prefix == ""


def test_a_base_url_without_a_metadata_catalog_is_a_config_error(server: FakeNetsuite) -> None:
    with pytest.raises(InvalidSourceConfig) as caught:
        NetsuiteConnector(tba_config(server, base_url=server.url + "/not-netsuite")).test_connection()
    assert caught.value.field == "config.base_url"
    assert [s.status for s in server.log] == [404], "signed and accepted, but nothing there"


@pytest.mark.parametrize("unknown_select", ["omit", "error"])
def test_an_unknown_record_type_names_its_entry(unknown_select: str) -> None:
    with account(unknown_select=unknown_select) as server:
        connector = NetsuiteConnector(tba_config(server, record_types=["customer", "salesorderz"]))
        with pytest.raises(InvalidSourceConfig) as caught:
            connector.discover()
    assert caught.value.field == "config.record_types.1"
    assert "salesorderz" in caught.value.message
    assert not [s for s in server.log if s.path.startswith(CATALOG + "/")], "no schema requested before the check"


def test_a_forbidden_record_type_is_a_permission_error(server: FakeNetsuite) -> None:
    server.forbidden = {"employee"}
    with pytest.raises(PermissionDenied) as caught:
        NetsuiteConnector(tba_config(server)).discover()
    assert caught.value.field == "config.record_types.2"
    assert "Permission Violation" in caught.value.message


# -- token-based authentication -----------------------------------------------------------------------------------


def test_a_wrong_token_secret_is_rejected_by_the_signature_check(server: FakeNetsuite) -> None:
    wrong = "ts-not-the-right-one"
    with pytest.raises(AuthenticationFailed) as caught:
        NetsuiteConnector(tba_config(server, token_secret=wrong)).discover()
    assert caught.value.field == "secrets.token_secret"
    assert "Invalid login attempt" in caught.value.message
    assert wrong not in caught.value.message
    assert [(s.status, s.note) for s in server.log] == [(401, "signature mismatch")]


def test_a_wrong_realm_is_rejected(server: FakeNetsuite) -> None:
    server.account_id = "7654321"
    with pytest.raises(AuthenticationFailed):
        NetsuiteConnector(tba_config(server, account_id="1234567_SB1")).test_connection()
    assert server.log[-1].note == "wrong realm"


# -- OAuth 2.0 client credentials ---------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["PS256", "RS256", "ES256"])
def test_client_credentials_obtain_a_token_and_use_it_as_bearer(
    algorithm: str, rsa_pem: tuple[str, str], ec_pem: tuple[str, str]
) -> None:
    private, public = ec_pem if algorithm == "ES256" else rsa_pem
    with oauth2_account(public) as server:
        connector = NetsuiteConnector(oauth2_config(server, private, jwt_algorithm=algorithm))
        snapshot = connector.discover()
        connector.test_connection()

    assert len(snapshot.tables) == 3
    tokens = server.requests_to(TOKEN)
    assert [(s.status, s.note) for s in tokens] == [(200, "")], "one token serves both operations"
    token = next(iter(server.tokens))
    others = [s for s in server.log if s.path != TOKEN]
    assert {s.headers["authorization"] for s in others} == {f"Bearer {token}"}
    assert all(s.status == 200 for s in others)
    assert snapshot.queries == 5  # the token request is a request too


def test_an_expired_access_token_is_renewed_once(rsa_pem: tuple[str, str]) -> None:
    private, public = rsa_pem
    with oauth2_account(public) as server:
        connector = NetsuiteConnector(oauth2_config(server, private))
        connector.test_connection()
        server.expire_tokens()
        connector.test_connection()

    assert [s.status for s in server.requests_to(TOKEN)] == [200, 200]
    assert [(s.status, s.note) for s in server.requests_to(CATALOG)] == [
        (200, ""),
        (401, "expired access token"),
        (200, ""),
    ]


def test_a_refused_renewal_fails_clearly(rsa_pem: tuple[str, str]) -> None:
    private, public = rsa_pem
    with oauth2_account(public) as server:
        connector = NetsuiteConnector(oauth2_config(server, private))
        connector.test_connection()
        server.expire_tokens()
        server.refuse_tokens = True
        with pytest.raises(AuthenticationFailed) as caught:
            connector.test_connection()
    assert caught.value.field == "secrets.private_key"
    assert "invalid_grant" in caught.value.message and CERTIFICATE_ID in caught.value.message
    assert [s.status for s in server.requests_to(TOKEN)] == [200, 400]


def test_a_token_rejected_after_renewal_is_not_renewed_again(rsa_pem: tuple[str, str]) -> None:
    private, public = rsa_pem
    with oauth2_account(public) as server:
        server.accept_bearer = False
        with pytest.raises(AuthenticationFailed) as caught:
            NetsuiteConnector(oauth2_config(server, private)).test_connection()
    assert "even after a new access token was issued" in caught.value.message
    assert len(server.requests_to(TOKEN)) == 2
    assert [s.status for s in server.requests_to(CATALOG)] == [401, 401]


def test_a_key_that_does_not_match_the_certificate_is_refused(rsa_pem: tuple[str, str]) -> None:
    _, public = rsa_pem
    other_private, _ = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    with oauth2_account(public) as server, pytest.raises(AuthenticationFailed) as caught:
        NetsuiteConnector(oauth2_config(server, other_private)).test_connection()
    assert caught.value.field == "secrets.private_key"
    assert server.requests_to(TOKEN)[0].note.startswith("assertion rejected")
    assert not server.requests_to(CATALOG)


def test_a_private_key_that_is_not_pem_is_a_config_error(server: FakeNetsuite) -> None:
    connector = NetsuiteConnector(oauth2_config(server, "not a key"))
    with pytest.raises(InvalidSourceConfig) as caught:
        connector.test_connection()
    assert caught.value.field == "secrets.private_key"
    assert server.log == []


# -- SuiteQL reads ------------------------------------------------------------------------------------------------


def test_a_full_read_pages_through_suiteql(server: FakeNetsuite) -> None:
    connector = NetsuiteConnector(tba_config(server, page_size=3))
    table = customer_table(connector)
    batches = list(connector.read_increment(IncrementRequest(table, IncrementPlan(IncrementStrategy.FULL))))

    pages = server.requests_to(SUITEQL)
    assert list(iter_pages(pages)) == [(3, 0), (3, 3), (3, 6)]
    assert all(p.headers["prefer"] == "transient" and p.status == 200 for p in pages)
    assert len(batches) == 1
    got = rows_of(batches)
    expected = sorted(customer_rows(7), key=lambda r: r["id"])
    assert [r["id"] for r in got] == [r["id"] for r in expected]
    for row, source in zip(got, expected):
        assert row["email"] == source["email"]
        assert row["isInactive"] is source["isinactive"]
        assert row["balance"] == source["balance"]
        assert row["startDate"] == source["startdate"]
        assert row["lastModifiedDate"] == source["lastmodifieddate"]
        assert row["custentity_integer"] == source["custentity_integer"]
        assert row["custentity_loyalty_tier"] == source["custentity_loyalty_tier"]
        assert row["subsidiary"] == str(source["subsidiary"])
        assert row["custentity_account_manager"] == (None if source["custentity_account_manager"] is None else "501")
    schema = batches[0].schema
    assert schema.field("id").type == pa.int64()
    assert schema.field("lastModifiedDate").type == pa.timestamp("s")
    assert schema.field("startDate").type == pa.date32()
    assert schema.field("isInactive").type == pa.bool_()
    assert "addressBook" not in schema.names, "a sublist is not a SuiteQL column"


def test_a_table_without_discovery_properties_reads_the_same_rows(server: FakeNetsuite) -> None:
    # The application may rebuild a TableSnapshot from its own database, where `properties` are not kept: the
    # columns SuiteQL can select are then derived from the column types alone.
    connector = NetsuiteConnector(tba_config(server))
    table = customer_table(connector)
    plan = IncrementPlan(IncrementStrategy.FULL)
    with_properties = rows_of(list(connector.read_increment(IncrementRequest(table, plan))))
    rebuilt = dataclasses.replace(table, properties={})
    without = rows_of(list(connector.read_increment(IncrementRequest(rebuilt, plan))))
    assert without == with_properties
    assert "addressBook" not in without[0]


def test_batches_hold_batch_rows(server: FakeNetsuite) -> None:
    connector = NetsuiteConnector(tba_config(server, page_size=3))
    request = IncrementRequest(customer_table(connector), IncrementPlan(IncrementStrategy.FULL), batch_rows=2)
    batches = list(connector.read_increment(request))
    assert [b.num_rows for b in batches] == [2, 2, 2, 1]
    assert {limit for limit, _ in iter_pages(server.requests_to(SUITEQL))} == {2}


def test_a_timestamp_watermark_is_filtered_by_the_source(server: FakeNetsuite) -> None:
    connector = NetsuiteConnector(tba_config(server, page_size=2))
    watermark = BASE_TIME + timedelta(hours=5, minutes=7)  # equal to two rows' value: those are not "after" it
    request = IncrementRequest(
        customer_table(connector), IncrementPlan(IncrementStrategy.TIMESTAMP, "lastModifiedDate"), watermark
    )
    got = rows_of(list(connector.read_increment(request)))

    expected = sorted(
        (r for r in customer_rows(7) if r["lastmodifieddate"] > watermark),
        key=lambda r: (r["lastmodifieddate"], r["id"]),
    )
    assert [(r["lastModifiedDate"], r["id"]) for r in got] == [(r["lastmodifieddate"], r["id"]) for r in expected]
    assert 0 < len(got) < 7
    statement = server.requests_to(SUITEQL)[0].body
    assert "TO_TIMESTAMP('2024-03-01 13:07:00', 'YYYY-MM-DD HH24:MI:SS')" in statement
    assert len(server.requests_to(SUITEQL)) == -(-len(expected) // 2)  # no page beyond the filtered rows


def test_a_key_watermark_reads_higher_ids_only(server: FakeNetsuite) -> None:
    connector = NetsuiteConnector(tba_config(server))
    request = IncrementRequest(customer_table(connector), IncrementPlan(IncrementStrategy.KEY, "id"), "104")
    got = rows_of(list(connector.read_increment(request)))
    assert [r["id"] for r in got] == [r["id"] for r in customer_rows(7) if r["id"] > 104]


def test_a_read_longer_than_the_result_cap_continues_after_the_last_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suiteql_module, "SUITEQL_RESULT_CAP", 4)
    with account(customers=9, result_cap=4) as server:
        connector = NetsuiteConnector(tba_config(server, page_size=3))
        request = IncrementRequest(
            customer_table(connector), IncrementPlan(IncrementStrategy.TIMESTAMP, "lastModifiedDate")
        )
        got = rows_of(list(connector.read_increment(request)))

    expected = sorted(customer_rows(9), key=lambda r: (r["lastmodifieddate"], r["id"]))
    assert [r["id"] for r in got] == [r["id"] for r in expected]
    statements = [s.body for s in server.requests_to(SUITEQL)]
    assert len({s for s in statements}) == 3, "two continuations after the first statement"
    assert list(iter_pages(server.requests_to(SUITEQL)))[:2] == [(3, 0), (1, 3)], "a page never crosses the cap"


def test_a_record_type_suiteql_does_not_know_names_its_entry() -> None:
    sales_order = RecordTypeFixture(
        "salesOrder",
        {"type": "object", "properties": {"id": {"title": "Internal ID", "type": "string"}}},
        in_suiteql=False,
    )
    with account(extra_types=[sales_order]) as server:
        connector = NetsuiteConnector(tba_config(server, record_types=["customer", "salesOrder"]))
        table = connector.discover().table_map()[("record", "salesOrder")]
        with pytest.raises(InvalidSourceConfig) as caught:
            list(connector.read_increment(IncrementRequest(table, IncrementPlan(IncrementStrategy.FULL))))
    assert caught.value.field == "config.record_types.1"
    assert "transaction" in caught.value.message


def test_user_values_never_reach_suiteql_unchecked(server: FakeNetsuite) -> None:
    connector = NetsuiteConnector(tba_config(server))
    table = customer_table(connector)
    sent = len(server.log)
    plan = IncrementPlan(IncrementStrategy.TIMESTAMP, "lastModifiedDate")
    with pytest.raises(InvalidSourceConfig) as caught:
        list(connector.read_increment(IncrementRequest(table, plan, "2024-01-01' OR '1'='1")))
    assert caught.value.field == "watermark"
    with pytest.raises(InvalidSourceConfig):
        list(connector.read_increment(IncrementRequest(table, IncrementPlan(IncrementStrategy.KEY, "id"), "1 OR 1=1")))
    renamed = TableSnapshot(schema="record", name="customer t; DELETE", columns=table.columns)
    with pytest.raises(InvalidSourceConfig):
        list(connector.read_increment(IncrementRequest(renamed, IncrementPlan(IncrementStrategy.FULL))))
    assert len(server.log) == sent, "refused before any request"


# -- retries and failures -----------------------------------------------------------------------------------------


def test_the_concurrency_limit_is_waited_out(server: FakeNetsuite) -> None:
    server.script(SUITEQL, 429, CONCURRENCY_BODY, {"Retry-After": "0"}, times=2)
    sleep = SleepRecorder(really_sleep=True)
    connector = NetsuiteConnector(tba_config(server), sleep=sleep)
    table = customer_table(connector)
    got = rows_of(list(connector.read_increment(IncrementRequest(table, IncrementPlan(IncrementStrategy.FULL)))))

    assert [s.status for s in server.requests_to(SUITEQL)] == [429, 429, 200]
    assert len(got) == 7
    assert len(sleep.waits) == 2 and all(w > 0 for w in sleep.waits), "backoff waits even when Retry-After is 0"


def test_retry_after_is_honoured(server: FakeNetsuite) -> None:
    server.script(CATALOG, 429, CONCURRENCY_BODY, {"Retry-After": "30"})
    sleep = SleepRecorder()
    NetsuiteConnector(tba_config(server), sleep=sleep).test_connection()
    assert sleep.waits and sleep.waits[0] >= 30


def test_a_concurrency_code_with_another_status_is_retried(server: FakeNetsuite) -> None:
    body = {"status": 400, "o:errorDetails": [{"detail": "limit", "o:errorCode": "SSS_REQUEST_LIMIT_EXCEEDED"}]}
    server.script(CATALOG, 400, body)
    NetsuiteConnector(tba_config(server), sleep=SleepRecorder()).test_connection()
    assert [s.status for s in server.requests_to(CATALOG)] == [400, 200]


def test_a_lasting_concurrency_limit_ends_as_unreachable(server: FakeNetsuite) -> None:
    server.script(CATALOG, 429, CONCURRENCY_BODY, {"Retry-After": "0"}, times=10)
    with pytest.raises(SourceUnreachable) as caught:
        NetsuiteConnector(tba_config(server, max_retries=2), sleep=SleepRecorder()).test_connection()
    assert caught.value.field == "config.max_retries"
    assert len(server.requests_to(CATALOG)) == 3


def test_server_errors_are_retried_then_unreachable(server: FakeNetsuite) -> None:
    body = {"status": 503, "title": "Service Unavailable"}
    server.script(CATALOG, 503, body)
    NetsuiteConnector(tba_config(server), sleep=SleepRecorder()).test_connection()
    assert [s.status for s in server.requests_to(CATALOG)] == [503, 200]

    server.script(CATALOG, 500, {"status": 500, "title": "Internal Server Error"}, times=5)
    with pytest.raises(SourceUnreachable) as caught:
        NetsuiteConnector(tba_config(server, max_retries=1), sleep=SleepRecorder()).test_connection()
    assert caught.value.field == "config.base_url"
    assert "HTTP 500" in caught.value.message


def test_a_slow_answer_is_retried_then_unreachable(server: FakeNetsuite) -> None:
    connector = NetsuiteConnector(tba_config(server, timeout_s=0.2, max_retries=1), sleep=SleepRecorder())
    table = customer_table(connector)
    server.suiteql_delay_s = 0.5
    with pytest.raises(SourceUnreachable) as caught:
        list(connector.read_increment(IncrementRequest(table, IncrementPlan(IncrementStrategy.FULL))))
    assert caught.value.field == "config.base_url"
    assert "timeout_s" in caught.value.message


def test_a_refused_connection_is_unreachable() -> None:
    with account() as server:
        config = tba_config(server)
    # The server is closed now: its port refuses connections.
    with pytest.raises(SourceUnreachable) as caught:
        NetsuiteConnector(config, sleep=SleepRecorder()).test_connection()
    assert caught.value.field == "config.base_url"


# -- configuration ------------------------------------------------------------------------------------------------


def test_configuration_is_validated_field_by_field() -> None:
    base = {"account_id": "1234567", "record_types": ["customer"], "auth": "tba", **TBA}
    config = NetsuiteConfig.model_validate(base)
    assert config.effective_base_url == "https://1234567.suitetalk.api.netsuite.com"
    assert NetsuiteConfig.model_validate({**base, "account_id": "1234567_sb1"}).effective_base_url == (
        "https://1234567-sb1.suitetalk.api.netsuite.com"
    )
    assert NetsuiteConnector.secret_fields == {"consumer_secret", "token_secret", "private_key"}

    def problems(**changes: Any) -> set[tuple]:
        values = {**base, **changes}
        for key in [k for k, v in changes.items() if v is None]:
            values.pop(key)
        with pytest.raises(ValidationError) as caught:
            NetsuiteConfig.model_validate(values)
        return {tuple(e["loc"]) for e in caught.value.errors()}

    assert problems(token_secret=None) == {("token_secret",)}
    assert problems(auth="oauth2_client_credentials") == {("client_id",), ("certificate_id",), ("private_key",)}
    assert problems(record_types=[]) == {("record_types",)}
    assert problems(record_types=["customer", "bad name"]) == {("record_types", 1)}
    assert problems(record_types=["customer", "Customer"]) == {("record_types",)}
    assert problems(record_types=[f"type{i}" for i in range(201)]) == {("record_types",)}
    assert problems(base_url="http://netsuite.example.com") == {("base_url",)}
    assert problems(account_id="12345; drop") == {("account_id",)}
    assert problems(page_size=1001) == {("page_size",)}


def test_stored_configuration_round_trips_without_secrets(server: FakeNetsuite) -> None:
    config = tba_config(server)
    stored = config.model_dump(mode="json", exclude=set(NetsuiteConnector.secret_fields))
    assert not set(stored) & NetsuiteConnector.secret_fields
    again = NetsuiteConfig.model_validate(
        {**stored, "consumer_secret": TBA["consumer_secret"], "token_secret": TBA["token_secret"]}
    )
    assert again == config
