"""Cursors are the compact JSON of a position, base64 encoded: clients keep them across releases, so the fast
encoder must write exactly what `json` writes (the oracle here) for every value a position holds."""

import base64
import json

import pytest

from catalog_api.services.browse import decode_cursor, encode_cursor

POSITIONS = [
    ["customer_orders", 12],
    ["Zürich \"quoted\" \\ back\tslash\n", 7],
    ["emoji 🐍 and \u2028 separators", 2**63 + 5],
    [0, -3],
    [True, None],
    [1.5, "2026-12-05T14:00:00+00:00"],
    ["", 0],
]


@pytest.mark.parametrize("position", POSITIONS)
def test_cursor_is_the_compact_json_of_the_position(position):
    oracle = base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode()
    assert encode_cursor(position) == oracle
    assert decode_cursor(encode_cursor(position)) == position
