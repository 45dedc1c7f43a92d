"""A NetSuite account on the local stand-in (tests/support/netsuite_server.py): customers, subsidiaries and an
employee, reachable with the token-based-authentication (TBA) credentials below."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from tests.support.netsuite_server import (
    FakeNetsuite,
    RecordTypeFixture,
    customer_schema,
    employee_schema,
    subsidiary_schema,
)

TBA = {
    "consumer_key": "ck-5f0e6a1d",
    "consumer_secret": "cs-1b2c3d4e5f",
    "token_id": "tk-9a8b7c6d",
    "token_secret": "ts-0f1e2d3c4b",
}

BASE_TIME = datetime(2024, 3, 1, 8, 0, 0)


def customer_rows(count: int) -> list[dict[str, Any]]:
    """Customers whose modification times repeat in pairs and do not follow the id order, with some nulls."""
    rows = []
    for i in range(1, count + 1):
        rows.append(
            {
                "id": 100 + i,
                "entityid": f"CUST{i:04d}",
                "companyname": f"Company {i}",
                "email": None if i % 3 == 0 else f"buyer{i}@example.com",
                "balance": round(i * 10.25, 2),
                "isinactive": i % 4 == 0,
                "startdate": date(2023, 1, i),
                "datecreated": BASE_TIME - timedelta(days=30 - i),
                "lastmodifieddate": BASE_TIME + timedelta(hours=((count - i) // 2) * 5, minutes=7),
                "subsidiary": 1,
                "currency": 1,
                "custentity_integer": i * 7,
                "custentity_loyalty_tier": "gold" if i % 2 else "silver",
                "custentity_account_manager": 501 if i % 2 else None,
            }
        )
    return rows


def account(customers: int = 7, **options: Any) -> FakeNetsuite:
    types = [
        RecordTypeFixture("customer", customer_schema(), customer_rows(customers)),
        RecordTypeFixture(
            "subsidiary",
            subsidiary_schema(),
            [{"id": 1, "name": "Parent Co", "lastmodifieddate": BASE_TIME}, {"id": 2, "name": "EU", "parent": 1}],
        ),
        RecordTypeFixture("employee", employee_schema(), [{"id": 501, "entityid": "Ada", "subsidiary": 1}]),
    ]
    return FakeNetsuite(types + options.pop("extra_types", []), tba=TBA, **options)
