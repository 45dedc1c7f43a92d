"""Custom GraphQL scalars."""

from __future__ import annotations

from typing import NewType

import strawberry

# Row estimates and similar counts outgrow GraphQL's 32-bit Int; JSON numbers carry them exactly up to 2^53.
BigInt = NewType("BigInt", int)

SCALARS = {
    BigInt: strawberry.scalar(
        name="BigInt",
        serialize=int,
        parse_value=int,
        description="An integer that may exceed 32 bits (exact up to 2^53 in JSON clients).",
    ),
}
"""Custom scalars, for `StrawberryConfig.scalar_map`."""
