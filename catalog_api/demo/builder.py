"""Builds the demo ERP SQLite database: the DDL of `erp_schema.sql` filled with deterministic pseudo-random data.

Everything random comes from one `random.Random(seed)` and every date is relative to a fixed `AS_OF` day, never to
the clock, so a seed always yields the same rows. Money is generated in integer cents so that documents add up to
the cent; sums that SQLite computes (a generated line total, invoice totals) are computed by SQLite and read back,
so Python's and SQLite's rounding can never disagree.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from importlib.resources import files
from pathlib import Path

SCHEMA_VERSION = 1
"""Stored in `PRAGMA user_version`; bump it when erp_schema.sql changes."""

AS_OF = date(2025, 1, 15)
"""The demo's "today": orders run up to shortly before it and invoices are paid or overdue relative to it."""

FIRST_ORDER_DAY = date(2023, 1, 1)
LAST_ORDER_DAY = date(2024, 12, 31)

BASE_COUNTS = {"customers": 200, "vendors": 50, "items": 300, "sales_orders": 2000, "purchase_orders": 400}
"""Row counts at scale 1; `scale` multiplies them. Order lines average three per order."""

# country, currency, VAT or sales-tax rate, phone prefix, company suffix, e-mail top-level domain, weight
COUNTRIES: tuple[tuple[str, str, float, str, str, str, int], ...] = (
    ("US", "USD", 0.0725, "+1", "Inc.", "com", 22),
    ("DE", "EUR", 0.19, "+49", "GmbH", "de", 18),
    ("FR", "EUR", 0.20, "+33", "SAS", "fr", 12),
    ("GB", "GBP", 0.20, "+44", "Ltd", "co.uk", 12),
    ("NL", "EUR", 0.21, "+31", "B.V.", "nl", 8),
    ("ES", "EUR", 0.21, "+34", "S.L.", "es", 7),
    ("IT", "EUR", 0.22, "+39", "S.r.l.", "it", 7),
    ("SE", "SEK", 0.25, "+46", "AB", "se", 5),
    ("CH", "CHF", 0.081, "+41", "AG", "ch", 5),
    ("CA", "CAD", 0.05, "+1", "Ltd.", "ca", 4),
)
FX_FROM_EUR = {"EUR": 1.0, "USD": 1.08, "GBP": 0.86, "SEK": 11.4, "CHF": 0.95, "CAD": 1.47}

# code, name, parent code; items hang off the leaves
CATEGORIES: tuple[tuple[str, str, str | None], ...] = (
    ("HW", "Hardware", None),
    ("HW-LAP", "Laptops", "HW"),
    ("HW-MON", "Monitors", "HW"),
    ("HW-PER", "Peripherals", "HW"),
    ("NET", "Networking", None),
    ("NET-SW", "Switches", "NET"),
    ("NET-CAB", "Cables", "NET"),
    ("SW", "Software", None),
    ("SW-LIC", "Perpetual licenses", "SW"),
    ("SW-SUB", "Subscriptions", "SW"),
    ("SRV", "Services", None),
    ("SRV-CON", "Consulting", "SRV"),
    ("SRV-SUP", "Support", "SRV"),
    ("OFF", "Office supplies", None),
    ("OFF-PAP", "Paper", "OFF"),
    ("OFF-FUR", "Furniture", "OFF"),
)

# per leaf category: nouns, price range in EUR, unit of measure, weight range in kg (None: weightless)
CATALOG: dict[str, tuple[tuple[str, ...], tuple[int, int], str, tuple[float, float] | None]] = {
    "HW-LAP": (("Laptop", "Ultrabook", "Workstation", "Notebook"), (650, 2900), "pcs", (1.1, 2.8)),
    "HW-MON": (("Monitor", "Display", "Curved Monitor"), (140, 1200), "pcs", (3.0, 9.5)),
    "HW-PER": (("Keyboard", "Mouse", "Docking Station", "Headset", "Webcam"), (15, 320), "pcs", (0.1, 1.5)),
    "NET-SW": (("Switch", "Router", "Access Point", "Firewall"), (90, 4200), "pcs", (0.4, 6.0)),
    "NET-CAB": (("Patch Cable", "Fiber Cable", "Power Cable"), (3, 60), "box", (0.2, 2.0)),
    "SW-LIC": (("Office Suite", "CAD License", "Database License", "Design Suite"), (120, 5200), "license", None),
    "SW-SUB": (("Cloud Storage Plan", "Security Subscription", "CRM Seat", "Backup Plan"), (8, 95), "license", None),
    "SRV-CON": (("Consulting Day", "Architecture Review", "Migration Package"), (650, 9800), "h", None),
    "SRV-SUP": (("Support Hour", "Premium Support", "Onsite Visit"), (75, 450), "h", None),
    "OFF-PAP": (("Copy Paper A4", "Notebook Pack", "Envelope Pack"), (4, 45), "box", (0.5, 12.0)),
    "OFF-FUR": (("Office Chair", "Standing Desk", "Filing Cabinet", "Bookshelf"), (90, 1400), "pcs", (8.0, 45.0)),
}
BRANDS = ("Acme", "Nordwind", "Helix", "Quantum", "Orbis", "Kestrel", "Lumen", "Vertex", "Pioneer", "Atlas")
SERIES = ("Pro", "Air", "Max", "Lite", "Plus", "One", "X", "S", "Edge", "Prime")

NAME_ROOTS = (
    "Alder", "Baltic", "Cedar", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper", "Keystone",
    "Lakeside", "Meridian", "Northgate", "Oakridge", "Pinecrest", "Quarry", "Riverside", "Summit", "Tidewater",
    "Union", "Valley", "Westbrook", "Yarrow", "Zenith", "Blue Ridge", "Silver Oak", "Red Rock", "Green Field",
    "Stone Bridge", "Clearwater", "Brightline", "Ironwood", "Highland", "Sunrise", "Coastal", "Maple", "Aurora",
)
NAME_TRADES = (
    "Logistics", "Manufacturing", "Health", "Foods", "Engineering", "Retail", "Consulting", "Energy", "Media",
    "Pharma", "Textiles", "Construction", "Analytics", "Hospitality", "Automotive", "Labs", "Finance", "Legal",
    "Education", "Robotics",
)
VENDOR_TRADES = ("Supply", "Distribution", "Components", "Wholesale", "Trading", "Systems", "Electronics")
SALES_REPS = (
    "Ana Costa", "Ben Fischer", "Chloé Martin", "David Kim", "Eva Lindqvist", "Farid Haddad", "Grace O'Neil",
    "Hiro Tanaka",
)
ORDER_NOTES = ("Deliver to loading dock B", "Call before delivery", "Partial shipment allowed", "Rush order")


@dataclass(frozen=True, slots=True)
class _Party:
    id: int
    country: str
    currency: str
    tax_rate: float
    terms_days: int


def build_demo_database(path: Path, *, seed: int = 7, scale: int = 1) -> Path:
    """(Re)create the demo ERP database at `path` and return `path`.

    The database is built in a temporary file beside `path` and moved over it with `os.replace`, so a reader never
    sees a half-built database and a failed build leaves any previous one untouched. Do not point it at a database
    another process has open.
    """
    if scale < 1:
        raise ValueError("scale must be at least 1")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".building", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _build(tmp, random.Random(seed), scale)
        if path.exists():
            shutil.copymode(path, tmp)
        else:
            os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the demo from other local users
        # A WAL or rollback journal left by an earlier database at `path` would be replayed into the new one.
        for suffix in ("-wal", "-shm", "-journal"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _build(target: Path, rng: random.Random, scale: int) -> None:
    conn = sqlite3.connect(target, isolation_level=None)
    try:
        # The file is private until os.replace publishes it, so durability during the build buys nothing; the
        # explicit fsync below makes it durable once, before it is published.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.executescript(files("catalog_api.demo").joinpath("erp_schema.sql").read_text(encoding="utf-8"))
        conn.execute("BEGIN")
        _populate(conn, rng, scale)
        conn.execute("COMMIT")
        violations = conn.execute("PRAGMA foreign_key_check").fetchall()
        if violations:
            raise RuntimeError(f"demo data violates foreign keys: {violations[:5]}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("ANALYZE")
    finally:
        conn.close()
    with open(target, "rb+") as handle:
        os.fsync(handle.fileno())


# -- data ---------------------------------------------------------------------------------------------------------


def _populate(conn: sqlite3.Connection, rng: random.Random, scale: int) -> None:
    counts = {name: count * scale for name, count in BASE_COUNTS.items()}
    category_ids = _insert_categories(conn)
    vendors = _insert_vendors(conn, rng, counts["vendors"])
    items = _insert_items(conn, rng, counts["items"], category_ids, vendors)
    customers = _insert_customers(conn, rng, counts["customers"])
    _insert_sales(conn, rng, counts["sales_orders"], customers, items)
    _insert_invoices(conn, rng, customers)
    _insert_payments(conn, rng)
    _insert_purchases(conn, rng, counts["purchase_orders"], vendors, items)


def _insert_categories(conn: sqlite3.Connection) -> dict[str, int]:
    ids = {code: number for number, (code, _name, _parent) in enumerate(CATEGORIES, start=1)}
    conn.executemany(
        "INSERT INTO item_categories (id, parent_id, code, name) VALUES (?, ?, ?, ?)",
        [(ids[code], ids[parent] if parent else None, code, name) for code, name, parent in CATEGORIES],
    )
    return ids


def _insert_vendors(conn: sqlite3.Connection, rng: random.Random, count: int) -> list[_Party]:
    rows, parties, used = [], [], set()
    for vendor_id in range(1, count + 1):
        country, currency, tax, prefix, suffix, tld, _ = _pick_country(rng)
        name = _unique_name(rng, used, VENDOR_TRADES, suffix)
        rows.append((
            vendor_id, f"V-{vendor_id:05d}", name, f"orders@{_slug(name, suffix)}.{tld}", _phone(rng, prefix), country,
            currency, _iban(rng, country), rng.choices((1, 2, 3, 4, 5), weights=(1, 2, 5, 8, 4))[0],
            _timestamp(rng, date(2020, 1, 1), date(2022, 6, 30)),
        ))
        parties.append(_Party(vendor_id, country, currency, tax, 30))
    conn.executemany(
        "INSERT INTO vendors (id, vendor_number, name, email, phone, country, currency, iban, rating, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return parties


def _insert_items(
    conn: sqlite3.Connection, rng: random.Random, count: int, category_ids: dict[str, int], vendors: list[_Party]
) -> list[tuple[int, str, int]]:
    """Returns (id, name, list price in EUR cents) per item."""
    leaves = list(CATALOG)
    rows, items, used = [], [], set()
    for item_id in range(1, count + 1):
        leaf = leaves[(item_id - 1) % len(leaves)] if item_id <= len(leaves) else rng.choice(leaves)
        nouns, (low, high), unit, weight = CATALOG[leaf]
        name = f"{rng.choice(BRANDS)} {rng.choice(nouns)} {rng.choice(SERIES)}"
        while name in used:
            name = f"{name} {rng.randint(2, 99)}"
        used.add(name)
        # Prices cluster at the low end of each range, as in real catalogues, and end in .90/.95/.99 or .00.
        euros = int(low + (high - low) * rng.random() ** 2)
        price_cents = euros * 100 + rng.choice((0, 90, 95, 99))
        cost_cents = int(price_cents * rng.uniform(0.45, 0.8))
        vendor = rng.choice(vendors).id if rng.random() < 0.85 else None
        rows.append((
            item_id, f"{leaf}-{item_id:05d}", name, f"{name} ({unit})" if rng.random() < 0.7 else None,
            category_ids[leaf], vendor, unit, price_cents / 100, cost_cents / 100,
            round(rng.uniform(*weight), 3) if weight else None, 0 if rng.random() < 0.04 else 1,
            _timestamp(rng, date(2021, 1, 1), date(2022, 12, 31)),
        ))
        items.append((item_id, name, price_cents))
    conn.executemany(
        "INSERT INTO items (id, sku, name, description, category_id, preferred_vendor_id, unit_of_measure, "
        "list_price, standard_cost, weight_kg, is_active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return items


def _insert_customers(conn: sqlite3.Connection, rng: random.Random, count: int) -> list[_Party]:
    rows, parties, used = [], [], set()
    for customer_id in range(1, count + 1):
        country, currency, tax, prefix, suffix, tld, _ = _pick_country(rng)
        name = _unique_name(rng, used, NAME_TRADES, suffix)
        segment = rng.choices(("enterprise", "mid_market", "smb", "public_sector"), weights=(2, 4, 9, 1))[0]
        terms = rng.choice((30, 30, 30, 14, 45, 60)) if segment != "smb" else rng.choice((0, 14, 30, 30))
        limit = {"enterprise": 250_000, "mid_market": 75_000, "smb": 15_000, "public_sector": 120_000}[segment]
        rows.append((
            customer_id, f"C-{customer_id:05d}", name,
            f"{rng.choice(('accounts', 'ap', 'billing', 'finance'))}@{_slug(name, suffix)}.{tld}",
            _phone(rng, prefix) if rng.random() < 0.9 else None, country, currency, segment,
            limit * rng.choice((0.5, 1, 1, 2)), terms, 0 if rng.random() < 0.05 else 1,
            _timestamp(rng, date(2021, 1, 1), date(2022, 12, 31)),
        ))
        parties.append(_Party(customer_id, country, currency, tax, terms))
    conn.executemany(
        "INSERT INTO customers (id, customer_number, name, email, phone, country, currency, segment, credit_limit, "
        "payment_terms_days, is_active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return parties


def _insert_sales(
    conn: sqlite3.Connection, rng: random.Random, count: int, customers: list[_Party], items: list[tuple[int, str, int]]
) -> None:
    # A few customers place most orders, as in any real order book.
    weights = [rng.paretovariate(1.3) for _ in customers]
    span = (LAST_ORDER_DAY - FIRST_ORDER_DAY).days
    orders, lines = [], []
    for order_id in range(1, count + 1):
        customer = rng.choices(customers, weights=weights)[0]
        ordered = FIRST_ORDER_DAY + timedelta(days=rng.randint(0, span))
        status = _order_status(rng, (AS_OF - ordered).days)
        created = _timestamp(rng, ordered, ordered)
        updated = None if status == "draft" else _timestamp(rng, ordered, min(ordered + timedelta(days=20), AS_OF))
        orders.append((
            order_id, f"SO-{ordered.year}-{order_id:06d}", customer.id, ordered.isoformat(),
            (ordered + timedelta(days=rng.randint(3, 21))).isoformat() if rng.random() < 0.6 else None,
            status, customer.currency, customer.country, rng.choice(SALES_REPS),
            rng.choice(ORDER_NOTES) if rng.random() < 0.1 else None, created, max(created, updated or created),
        ))
        fx = FX_FROM_EUR[customer.currency]
        line_count = rng.choices((1, 2, 3, 4, 5, 6), weights=(12, 20, 22, 20, 15, 11))[0]
        for line_no, (item_id, _name, price_cents) in enumerate(rng.sample(items, line_count), start=1):
            quantity = rng.choices((1, 2, 3, 5, 10, 20, 50), weights=(30, 20, 15, 12, 10, 8, 5))[0]
            unit_price = round(price_cents * fx) / 100
            discount = rng.choices((0, 5, 10, 15, 20), weights=(60, 15, 13, 7, 5))[0]
            lines.append((order_id, line_no, item_id, quantity, unit_price, discount))
    conn.executemany(
        "INSERT INTO sales_orders (id, order_number, customer_id, order_date, requested_ship_date, status, currency, "
        "shipping_country, sales_rep, notes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        orders,
    )
    conn.executemany(
        "INSERT INTO sales_order_lines (order_id, line_no, item_id, quantity, unit_price, discount_pct) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        lines,
    )


def _order_status(rng: random.Random, age_days: int) -> str:
    if rng.random() < 0.04:
        return "cancelled"
    if age_days > 45:
        return "delivered"
    if age_days > 20:
        return rng.choices(("delivered", "shipped"), weights=(3, 1))[0]
    return rng.choices(("draft", "confirmed", "shipped"), weights=(1, 3, 2))[0]


def _insert_invoices(conn: sqlite3.Connection, rng: random.Random, customers: list[_Party]) -> None:
    by_id = {c.id: c for c in customers}
    shipped = conn.execute(
        "SELECT id, customer_id, order_date, currency FROM sales_orders "
        "WHERE status IN ('shipped', 'delivered') ORDER BY id"
    ).fetchall()
    invoices = []
    for number, (order_id, customer_id, order_date, currency) in enumerate(shipped, start=1):
        customer = by_id[customer_id]
        invoiced = min(date.fromisoformat(order_date) + timedelta(days=rng.randint(0, 6)), AS_OF)
        due = invoiced + timedelta(days=customer.terms_days)
        invoices.append((
            number, f"INV-{invoiced.year}-{number:06d}", order_id, customer_id, invoiced.isoformat(),
            due.isoformat(), currency, customer.tax_rate,
        ))
    conn.executemany(
        "INSERT INTO invoices (id, invoice_number, order_id, customer_id, invoice_date, due_date, currency, tax_rate) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        invoices,
    )
    # Invoice lines copy the order lines and invoices sum them, inside SQLite, so every amount is SQLite's own.
    conn.execute(
        "INSERT INTO invoice_lines (invoice_id, line_no, order_id, order_line_no, item_id, description, quantity, "
        "unit_price, discount_pct, line_total) "
        "SELECT inv.id, l.line_no, l.order_id, l.line_no, l.item_id, it.name, l.quantity, l.unit_price, "
        "l.discount_pct, l.line_total "
        "FROM invoices AS inv JOIN sales_order_lines AS l ON l.order_id = inv.order_id "
        "JOIN items AS it ON it.id = l.item_id ORDER BY inv.id, l.line_no"
    )
    conn.execute(
        "UPDATE invoices SET subtotal = "
        "(SELECT round(coalesce(sum(line_total), 0), 2) FROM invoice_lines WHERE invoice_id = invoices.id)"
    )
    conn.execute("UPDATE invoices SET tax_amount = round(subtotal * tax_rate, 2)")
    conn.execute("UPDATE invoices SET total_amount = round(subtotal + tax_amount, 2)")


def _insert_payments(conn: sqlite3.Connection, rng: random.Random) -> None:
    invoices = conn.execute(
        "SELECT id, customer_id, invoice_date, due_date, total_amount, currency FROM invoices ORDER BY id"
    ).fetchall()
    payments, statuses = [], []
    for invoice_id, customer_id, invoice_date, due_date, total, currency in invoices:
        invoiced, due = date.fromisoformat(invoice_date), date.fromisoformat(due_date)
        total_cents = round(total * 100)
        outcome = _payment_outcome(rng, (AS_OF - due).days)
        if outcome == "void":
            statuses.append(("void", invoice_id))
            continue
        if outcome == "paid":
            parts = [total_cents] if rng.random() < 0.85 or total_cents < 2 else _split(rng, total_cents)
        elif outcome == "partial" and total_cents >= 2:
            parts = [rng.randint(1, total_cents - 1)]
        else:
            parts = []
        paid_on = invoiced
        method = rng.choices(("bank_transfer", "card", "direct_debit", "cheque"), weights=(70, 12, 15, 3))[0]
        for cents in parts:
            latest = min(due + timedelta(days=25), AS_OF)
            paid_on = paid_on + timedelta(days=rng.randint(0, max(0, (latest - paid_on).days)))
            payment_id = len(payments) + 1
            payments.append((
                payment_id, f"PAY-{paid_on.year}-{payment_id:06d}", invoice_id, customer_id, paid_on.isoformat(),
                cents / 100, currency, method, _timestamp(rng, paid_on, paid_on),
            ))
        paid = sum(parts)
        statuses.append(("paid" if paid == total_cents else "partially_paid" if paid else "open", invoice_id))
    conn.executemany(
        "INSERT INTO payments (id, payment_reference, invoice_id, customer_id, payment_date, amount, currency, "
        "method, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        payments,
    )
    conn.executemany("UPDATE invoices SET status = ? WHERE id = ?", statuses)


def _payment_outcome(rng: random.Random, days_past_due: int) -> str:
    if rng.random() < 0.01:
        return "void"
    if days_past_due > 30:
        return rng.choices(("paid", "partial", "open"), weights=(90, 6, 4))[0]
    if days_past_due > 0:
        return rng.choices(("paid", "partial", "open"), weights=(60, 15, 25))[0]
    return rng.choices(("paid", "partial", "open"), weights=(25, 10, 65))[0]


def _split(rng: random.Random, cents: int) -> list[int]:
    first = rng.randint(1, cents - 1)
    return [first, cents - first]


def _insert_purchases(
    conn: sqlite3.Connection, rng: random.Random, count: int, vendors: list[_Party], items: list[tuple[int, str, int]]
) -> None:
    costs = dict(conn.execute("SELECT id, standard_cost FROM items").fetchall())
    supplied: dict[int, list[int]] = {}
    for item_id, vendor_id in conn.execute("SELECT id, preferred_vendor_id FROM items ORDER BY id"):
        if vendor_id is not None:
            supplied.setdefault(vendor_id, []).append(item_id)
    all_items = [item_id for item_id, _name, _price in items]
    span = (LAST_ORDER_DAY - FIRST_ORDER_DAY).days
    orders, lines = [], []
    for po_id in range(1, count + 1):
        vendor = rng.choice(vendors)
        ordered = FIRST_ORDER_DAY + timedelta(days=rng.randint(0, span))
        expected = ordered + timedelta(days=rng.randint(5, 40)) if rng.random() < 0.9 else None
        age = (AS_OF - ordered).days
        if rng.random() < 0.03:
            status = "cancelled"
        elif age > 60:
            status = rng.choices(("closed", "received"), weights=(4, 1))[0]
        else:
            status = rng.choices(("draft", "sent", "received"), weights=(1, 3, 2))[0]
        orders.append((
            po_id, f"PO-{ordered.year}-{po_id:05d}", vendor.id, ordered.isoformat(),
            expected.isoformat() if expected else None, status, vendor.currency, _timestamp(rng, ordered, ordered),
        ))
        pool = supplied.get(vendor.id) or all_items
        fx = FX_FROM_EUR[vendor.currency]
        for line_no, item_id in enumerate(rng.sample(pool, min(len(pool), rng.randint(1, 5))), start=1):
            quantity = rng.choice((5, 10, 20, 25, 50, 100, 200))
            lines.append((po_id, line_no, item_id, quantity, round(costs[item_id] * 100 * fx) / 100))
    conn.executemany(
        "INSERT INTO purchase_orders (id, po_number, vendor_id, order_date, expected_date, status, currency, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        orders,
    )
    conn.executemany(
        "INSERT INTO purchase_order_lines (po_id, line_no, item_id, quantity, unit_cost) VALUES (?, ?, ?, ?, ?)",
        lines,
    )


# -- small generators ---------------------------------------------------------------------------------------------


def _pick_country(rng: random.Random) -> tuple[str, str, float, str, str, str, int]:
    return rng.choices(COUNTRIES, weights=[c[-1] for c in COUNTRIES])[0]


def _unique_name(rng: random.Random, used: set[str], trades: tuple[str, ...], suffix: str) -> str:
    name = f"{rng.choice(NAME_ROOTS)} {rng.choice(trades)} {suffix}"
    number = 2
    while name in used:
        name = f"{rng.choice(NAME_ROOTS)} {rng.choice(trades)} {number} {suffix}"
        number += 1
    used.add(name)
    return name


def _slug(name: str, suffix: str) -> str:
    """A domain label for a company: `Blue Ridge Foods GmbH` → `blueridgefoods` (the legal form is not in domains)."""
    return "".join(ch for ch in name.removesuffix(f" {suffix}").lower() if ch.isalnum())


def _phone(rng: random.Random, prefix: str) -> str:
    return f"{prefix} {rng.randint(20, 989)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"


def _iban(rng: random.Random, country: str) -> str | None:
    if country in ("US", "CA"):
        return None  # no IBANs in North America
    return f"{country}{rng.randint(10, 99)}{''.join(str(rng.randint(0, 9)) for _ in range(18))}"


def _timestamp(rng: random.Random, first: date, last: date) -> str:
    day = first + timedelta(days=rng.randint(0, max(0, (last - first).days)))
    moment = datetime.combine(day, time(rng.randint(7, 18), rng.randint(0, 59), rng.randint(0, 59)), timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
