"""Shapes and semantic-type detectors on known good and bad values; PII tags only above the threshold."""

from __future__ import annotations

import pytest

from profiler.patterns import (
    analyse_values,
    is_credit_card,
    is_email,
    is_ip_address,
    is_iso_date,
    is_iso_datetime,
    is_iso_time,
    is_number,
    is_phone,
    is_url,
    is_uuid,
    luhn_valid,
    shape,
)


@pytest.mark.parametrize(("value", "expected"), [
    ("AB-1234", "A-9"),
    ("jane.doe@example.com", "a.a@a.a"),
    ("Straße 12b", "Aa 9a"),
    ("日本 2024", "a 9"),
    ("", ""),
    ("(415) 555-2671", "(9) 9-9"),
])
def test_shapes_map_character_classes_and_collapse_runs(value, expected):
    assert shape(value) == expected


def test_shapes_are_bounded():
    assert len(shape("a1" * 5000)) == 65  # 64 classes and an ellipsis


@pytest.mark.parametrize("number", ["4111111111111111", "5500 0000 0000 0004", "3400-0000-0000-009",
                                    "6011000000000004", "4012888888881881"])
def test_luhn_valid_card_numbers_are_cards(number):
    assert is_credit_card(number)


@pytest.mark.parametrize("number", ["4111111111111112",   # Luhn fails
                                    "1234567812345670",   # Luhn passes, no issuer starts with 1
                                    "411111111111",       # too short
                                    "4111-1111-1111-111a"])
def test_not_cards(number):
    assert not is_credit_card(number)


def test_luhn_checksum():
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")


@pytest.mark.parametrize(("detector", "good", "bad"), [
    (is_email, ["a@b.co", "first.last+tag@sub.example.org"], ["a@b", "no at sign", "a@@b.com", "a@b.c"]),
    (is_uuid, ["123e4567-e89b-12d3-a456-426614174000"], ["123e4567e89b12d3a456426614174000", "not-a-uuid"]),
    (is_url, ["https://example.com/x?y=1", "s3://bucket/key", "abfss://c@acct.dfs.core.windows.net/p"],
     ["example.com", "http://", "mailto:a@b.co", "https://exa mple.com"]),
    (is_ip_address, ["192.168.0.1", "::1", "2001:db8::8a2e:370:7334"], ["256.1.1.1", "1.2.3", "abc"]),
    (is_phone, ["+44 20 7946 0958", "(415) 555-2671", "415-555-2671", "+14155552671"],
     ["4155552671", "2024-01-15", "192.168.100.200", "+1 23", "12-34"]),
    (is_iso_date, ["2024-02-29"], ["2023-02-29", "2024/01/01", "20240101"]),
    (is_iso_datetime, ["2024-01-15T10:30:00Z", "2024-01-15 10:30", "2024-01-15T10:30:00.123+02:00"],
     ["2024-01-15", "10:30"]),
    (is_iso_time, ["10:30", "23:59:59.5", "10:30:00Z"], ["1030", "25:00"]),
    (is_number, ["42", "-3.14", "1e10", " 7 ", ".5"], ["1,000", "abc", "1.2.3", ""]),
])
def test_detectors(detector, good, bad):
    assert all(detector(v) for v in good), [v for v in good if not detector(v)]
    assert not any(detector(v) for v in bad), [v for v in bad if detector(v)]


def test_a_column_of_emails_is_tagged_pii():
    values = [f"user{i}@example.com" for i in range(95)] + ["n/a"] * 5
    analysis = analyse_values(values)
    assert [(s.name, s.match_ratio, s.pii_tag) for s in analysis.semantic_types] == [("email", 0.95, "pii.email")]
    assert analysis.tags == ("pii.email",)
    assert analysis.patterns[0].pattern == "a9@a.a" and analysis.patterns[0].count == 95


def test_below_the_threshold_no_type_and_no_tag():
    values = [f"user{i}@example.com" for i in range(80)] + ["n/a"] * 20
    assert analyse_values(values, threshold=0.9).tags == ()
    assert analyse_values(values, threshold=0.8).tags == ("pii.email",)


def test_card_phone_and_ip_columns_get_their_tags():
    assert analyse_values(["4111 1111 1111 1111", "5500-0000-0000-0004"]).tags == ("pii.credit_card",)
    assert analyse_values(["+1 415 555 2671", "(020) 7946 0958"]).tags == ("pii.phone",)
    assert analyse_values(["10.0.0.1", "fe80::1"]).tags == ("pii.ip_address",)


def test_numbers_and_dates_in_strings_are_types_without_tags():
    analysis = analyse_values(["1", "2.5", "-3"])
    assert [s.name for s in analysis.semantic_types] == ["number"] and analysis.tags == ()
    assert [s.name for s in analyse_values(["2024-01-01", "2024-12-31"]).semantic_types] == ["iso_date"]


def test_nothing_to_analyse():
    analysis = analyse_values([])
    assert analysis.patterns == () and analysis.semantic_types == () and analysis.tags == ()
