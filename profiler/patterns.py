"""Shapes and semantic types of string values, from a bounded sample.

The values come from the profile's sample (one Spark job, at most `sample_rows` rows collected through Arrow), so
everything here is plain Python over at most that many values per column.

- A **shape** maps each character to its class - `A` upper-case letter, `a` lower-case or caseless letter, `9`
  digit, a space for whitespace, any other character as itself - and collapses runs: `AB-1234` → `A-9`,
  `jane.doe@example.com` → `a.a@a.a`.
- **Detectors** recognise emails, UUIDs, URLs, IP addresses (via `ipaddress`), phone numbers, ISO dates, times
  and date-times, numbers written as strings, and payment-card numbers (Luhn checksum plus issuer prefix). A
  column takes a semantic type when at least `threshold` of its sampled non-null values match; emails, phones,
  card numbers and IP addresses also set a PII tag (`pii.email`...).
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from urllib.parse import urlsplit

from profiler.model import PatternCount, SemanticType

# -- shapes ---------------------------------------------------------------------------------------------------------

def shape(value: str, *, max_length: int = 64) -> str:
    """The run-collapsed character-class shape of `value`, cut to `max_length` characters."""
    out: list[str] = []
    previous = ""
    for ch in value:
        if ch.isdigit():
            cls = "9"
        elif ch.isalpha():
            cls = "A" if ch.isupper() else "a"
        elif ch.isspace():
            cls = " "
        else:
            cls = ch
        if cls != previous:
            out.append(cls)
            previous = cls
            if len(out) >= max_length:
                out.append("…")
                break
    return "".join(out)


# -- detectors ------------------------------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_PHONE_CHARS = re.compile(r"^\+?[\d\s().-]+$")
_PHONE_GROUPS = re.compile(r"^\d{2,4}(?:[ .-]\d{2,4}){2,4}$")
_CARD_CHARS = re.compile(r"^\d(?:[\d -]*\d)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_ISO_TIME = re.compile(r"^\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$")
_URL_SCHEMES = frozenset({"http", "https", "ftp", "ftps", "s3", "s3a", "gs", "abfs", "abfss", "wasb", "wasbs",
                          "hdfs", "file", "sftp", "ws", "wss"})


def is_email(value: str) -> bool:
    return len(value) <= 254 and _EMAIL.match(value) is not None


def is_uuid(value: str) -> bool:
    return _UUID.match(value) is not None


def is_url(value: str) -> bool:
    if " " in value:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in _URL_SCHEMES and bool(parts.netloc or parts.scheme.lower() == "file")


def is_ip_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_phone(value: str) -> bool:
    """E.164-style numbers: 7-15 digits written with a leading `+`, brackets or digit groups (`+44 20 7946 0958`,
    `(415) 555-2671`, `415-555-2671`). A bare run of digits counts as a number, and dates and IPv4 addresses,
    which share the characters, are not phones."""
    if not _PHONE_CHARS.match(value) or _ISO_DATE.match(value) or value.count("+") > 1:
        return False
    if not (value.startswith("+") or "(" in value or _PHONE_GROUPS.match(value)):
        return False
    digits = sum(ch.isdigit() for ch in value)
    return 7 <= digits <= 15 and not is_ip_address(value)


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) checksum of a digit string."""
    total = 0
    for position, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if position % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card_issuer(digits: str) -> bool:
    n = len(digits)
    two, three, four, six = int(digits[:2]), int(digits[:3]), int(digits[:4]), int(digits[:6])
    return any((
        digits[0] == "4" and n in (13, 16, 19),                          # Visa
        (51 <= two <= 55 or 222100 <= six <= 272099) and n == 16,        # Mastercard
        two in (34, 37) and n == 15,                                     # American Express
        (four == 6011 or two == 65 or 644 <= three <= 649) and 16 <= n <= 19,  # Discover
        3528 <= four <= 3589 and 16 <= n <= 19,                          # JCB
        (300 <= three <= 305 or two in (36, 38)) and 14 <= n <= 19,      # Diners Club
        two == 62 and 16 <= n <= 19,                                     # UnionPay
    ))


def is_credit_card(value: str) -> bool:
    """A payment-card number: 13-19 digits (spaces or dashes allowed), a known issuer prefix and a valid Luhn
    checksum. The prefix check keeps random 16-digit identifiers (one in ten passes Luhn) out."""
    if not _CARD_CHARS.match(value):
        return False
    digits = value.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and _card_issuer(digits) and luhn_valid(digits)


def is_number(value: str) -> bool:
    return _NUMBER.match(value.strip()) is not None


def is_iso_date(value: str) -> bool:
    return _iso(value, _ISO_DATE, date.fromisoformat)


def is_iso_datetime(value: str) -> bool:
    return _iso(value, _ISO_DATETIME, datetime.fromisoformat)


def is_iso_time(value: str) -> bool:
    return _iso(value, _ISO_TIME, time.fromisoformat)


def _iso(value: str, form: re.Pattern[str], parse: Callable[[str], object]) -> bool:
    """ISO 8601 text: `form` matches its shape and `parse` accepts the value (no 30 February, no hour 25)."""
    if not form.match(value):
        return False
    try:
        parse(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Detector:
    """A named test of one string value, and the PII tag a column matching it gets."""

    name: str
    test: Callable[[str], bool]
    pii_tag: str | None = None


DETECTORS: tuple[Detector, ...] = (
    Detector("email", is_email, "pii.email"),
    Detector("uuid", is_uuid),
    Detector("url", is_url),
    Detector("ip_address", is_ip_address, "pii.ip_address"),
    Detector("credit_card", is_credit_card, "pii.credit_card"),
    Detector("phone", is_phone, "pii.phone"),
    Detector("iso_datetime", is_iso_datetime),
    Detector("iso_date", is_iso_date),
    Detector("iso_time", is_iso_time),
    Detector("number", is_number),
)


# -- a column's analysis --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ValueAnalysis:
    """The shapes, semantic types and PII tags of one column's sampled values."""

    patterns: tuple[PatternCount, ...]
    semantic_types: tuple[SemanticType, ...]
    tags: tuple[str, ...]


def analyse_values(values: Iterable[str], *, threshold: float = 0.9, top_patterns: int = 5,
                   max_length: int = 1000, detectors: Sequence[Detector] = DETECTORS) -> ValueAnalysis:
    """Shapes and semantic types of non-null sampled values of one string column.

    A detector is reported when it matches at least `threshold` of the values; values are cut to `max_length`
    characters first (nothing any detector accepts is that long).
    """
    sample = [v[:max_length] for v in values if v is not None]
    if not sample:
        return ValueAnalysis((), (), ())
    total = len(sample)
    shapes: Counter[str] = Counter()
    for value, count in Counter(sample).items():  # each distinct value shaped once
        shapes[shape(value)] += count
    patterns = tuple(PatternCount(p, n, n / total) for p, n in shapes.most_common(top_patterns))
    semantic: list[SemanticType] = []
    stripped = [v.strip() for v in sample]
    for detector in detectors:
        needed = threshold * total
        matched = 0
        for position, value in enumerate(stripped):
            if value and detector.test(value):
                matched += 1
            elif total - position - 1 + matched < needed:
                break  # cannot reach the threshold any more
        ratio = matched / total
        if ratio >= threshold:
            semantic.append(SemanticType(detector.name, ratio, total, detector.pii_tag))
    tags = tuple(sorted({s.pii_tag for s in semantic if s.pii_tag}))
    return ValueAnalysis(patterns, tuple(semantic), tags)
