"""What column and table names say about keys: whether a column is named like a key, and how strongly a child
column's name points at a parent table's key.

Names are compared as lower-case word lists: `preferredVendorID`, `preferred_vendor_id` and `PREFERRED-VENDOR-ID`
are all `["preferred", "vendor", "id"]`.

A child column names a parent key (`name_evidence`, strongest first) when it is:

- `<parent table, singular or plural>_<parent key>`: `customer_id` for `customers.id`;
- the parent key's own name, unless that name is generic (`id`, `key`, `code`, `no`, `number`...):
  `customer_number` for `customers.customer_number`;
- anything ending in `<last words of the parent table>_<parent key>`: `preferred_vendor_id` for `vendors.id`,
  `order_id` for `sales_orders.id`, `category_id` for `item_categories.id`, or ending in a non-generic parent key
  name: `billing_customer_number`;
- `parent_<parent key>` in the parent's own table: `item_categories.parent_id`;
- `<initials of the parent table>_<parent key>`: `po_id` for `purchase_orders.id`.
"""

from __future__ import annotations

import re
from functools import lru_cache

KEY_SUFFIXES = frozenset({"id", "key", "code", "no", "num", "number", "nr", "uuid", "guid", "ref"})
"""Last words of column names that say "key": `id`, `customer_id`, `sku_code`, `line_no`..."""

GENERIC_KEY_NAMES = frozenset({(word,) for word in KEY_SUFFIXES})
"""Key names that say nothing about what they identify: a child named `id` references nothing by its name."""

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[^0-9a-z]+")


@lru_cache(maxsize=65536)
def words(name: str) -> tuple[str, ...]:
    """The lower-case words of an identifier (snake_case, camelCase, kebab-case or spaced)."""
    return tuple(w for w in _SEPARATORS.split(_CAMEL.sub("_", name).lower()) if w)


def key_named(name: str) -> bool:
    """Whether a column's name says it holds keys: `id`, or a last word such as `_id`, `_key`, `_code`, `_no`."""
    found = words(name)
    return bool(found) and found[-1] in KEY_SUFFIXES


def singular(word: str) -> str:
    """English singular of a table name's last word, good enough for table names (`categories` → `category`,
    `addresses` → `address`, `statuses` → `status`, `items` → `item`)."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "uses", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 2:
        return word[:-1]
    return word


def _table_forms(table: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The table's name as a child column may spell it: singular last word first, then as is."""
    if not table:
        return []
    forms = [table[:-1] + (singular(table[-1]),), table]
    return list(dict.fromkeys(forms))


@lru_cache(maxsize=65536)
def name_evidence(child: str, parent_table: str, parent_key: str, *, same_table: bool) -> int:
    """How strongly the child column's name points at the parent table's key: 0 not at all, more the stronger
    (see the module's docstring for the forms, strongest first). Among suffixes, the more words of the table a
    name spells out, the stronger: `owner_sales_order_id` points at `sales_orders` more than at `work_orders`."""
    c, t, k = words(child), words(parent_table), words(parent_key)
    if not c or not k or (same_table and c == k):
        return 0
    generic = k in GENERIC_KEY_NAMES
    forms = _table_forms(t)
    if any(c == form + k for form in forms):
        return 100
    if not generic and c == k:
        return 90
    for form in forms:
        for start in range(len(form)):
            if c[-(len(form) - start + len(k)):] == form[start:] + k:
                return 20 + min(10 * (len(form) - start), 60)
    if not generic and len(c) > len(k) and c[-len(k):] == k:
        return 20
    if same_table and c == ("parent",) + k:
        return 20
    if len(t) > 1 and c == ("".join(w[0] for w in t),) + k:
        return 10
    return 0


__all__ = ["GENERIC_KEY_NAMES", "KEY_SUFFIXES", "key_named", "name_evidence", "singular", "words"]
