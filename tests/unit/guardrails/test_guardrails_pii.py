from __future__ import annotations

import pytest

from conftest import Detect, entities, spans
from otelguard.guardrails.registry import ParamsError, bind
from otelguard.guardrails.validators.pii import iban_valid, luhn_valid


@pytest.mark.parametrize(
    ("text", "entity", "value"),
    [
        ("write to john.doe+news@mail.example.co.uk please", "EMAIL", "john.doe+news@mail.example.co.uk"),
        ("call +44 20 7946 0958 today", "PHONE", "+44 20 7946 0958"),
        ("call +1 (415) 555-2671.", "PHONE", "+1 (415) 555-2671"),
        ("office: (415) 555-2671", "PHONE", "(415) 555-2671"),
        ("mobile 415.555.2671", "PHONE", "415.555.2671"),
        ("fon +49-30-901820-44", "PHONE", "+49-30-901820-44"),
        ("SSN 536-22-1234 on file", "US_SSN", "536-22-1234"),
        ("card 4111 1111 1111 1111 exp 12/29", "CREDIT_CARD", "4111 1111 1111 1111"),
        ("amex 3782-822463-10005", "CREDIT_CARD", "3782-822463-10005"),
        ("visa 4012888888881881", "CREDIT_CARD", "4012888888881881"),
        ("IBAN DE89 3704 0044 0532 0130 00 thanks", "IBAN", "DE89 3704 0044 0532 0130 00"),
        ("iban GB29NWBK60161331926819.", "IBAN", "GB29NWBK60161331926819"),
        ("server 203.0.113.77 is down", "IP_ADDRESS", "203.0.113.77"),
        ("v6 2001:db8:85a3::8a2e:370:7334 ok", "IP_ADDRESS", "2001:db8:85a3::8a2e:370:7334"),
        ("passport number: X1234567", "PASSPORT", "X1234567"),
        ("Driver's license no. D12-345-678", "ID_NUMBER", "D12-345-678"),
    ],
)
def test_true_positives(detect: Detect, text: str, entity: str, value: str) -> None:
    found = detect("pii", text)
    assert (entity, value) in spans(text, found), found


@pytest.mark.parametrize(
    "text",
    [
        "order number 1234567812345678 shipped",  # 16 digits failing Luhn
        "tracking 4111 1111 1111 1112",  # a card number with the wrong check digit
        "ref 3704 0044 0532 0130 01",  # Luhn-valid by chance, but not a card's digit grouping
        "IBAN DE89 3704 0044 0532 0130 01",  # wrong mod-97 checksum
        "ssh user@host and run make",  # no dotted domain: user@machine, not an email
        "SSN 000-12-3456 and 666-12-3456 and 900-12-3456",  # invalid areas
        "SSN 123-00-4567 and 123-45-0000",  # invalid group / serial
        "version 1.2.3.4.5 of the tool",  # a dotted version, not an IP
        "address 999.1.1.1",  # octet out of range
        "std::vector<int> v; a::b::c",  # C++ scopes, not IPv6
        "at 12:30:45 the job ran",  # a time, not IPv6
        "the years 2019 2020 2021 were busy",
        "we sold 1,234,567 units in 2023",
        "a passport holder may travel",
        "uuid 550e8400-e29b-41d4-a716-446655440000",
        "",
    ],
)
def test_true_negatives_and_traps(detect: Detect, text: str) -> None:
    assert detect("pii", text) == []


def test_luhn_and_iban_helpers() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert iban_valid("DE89370400440532013000")
    assert not iban_valid("DE89370400440532013001")
    assert not iban_valid("XX89370400440532013000")


def test_luhn_valid_number_without_known_brand_scores_low(detect: Detect) -> None:
    # 7992739871 3 (Luhn-valid, 13+ digits, no known issuer prefix) is reported, but below 0.5.
    found = detect("pii", "ref 7992739871326")
    assert entities(found) == ["CREDIT_CARD"]
    assert found[0].score < 0.5


def test_entity_selection_thresholds_and_allow(detect: Detect) -> None:
    text = "mail a@example.com, server 10.0.0.1, card 4111111111111111"
    assert entities(detect("pii", text, {"entities": ["email"]})) == ["EMAIL"]
    # per-entity threshold drops the private-IP finding (scored 0.5)
    found = detect("pii", text, {"thresholds": {"IP_ADDRESS": 0.6}})
    assert "IP_ADDRESS" not in entities(found)
    assert "EMAIL" not in entities(detect("pii", text, {"allow": ["A@EXAMPLE.COM"]}))


def test_offsets_are_str_offsets_with_non_ascii_text(detect: Detect) -> None:
    text = "Grüße — Jörg: jörg.x@example.de? nein: joerg@example.de ✓"
    found = detect("pii", text)
    assert spans(text, found) == [("EMAIL", "jörg.x@example.de"), ("EMAIL", "joerg@example.de")]


def test_unknown_params_rejected() -> None:
    with pytest.raises(ParamsError, match=r"params\.entites: unknown parameter"):
        bind("pii", {"entites": ["EMAIL"]})
    with pytest.raises(ParamsError, match=r"params\.entities\[0\]"):
        bind("pii", {"entities": ["SHOE_SIZE"]})
