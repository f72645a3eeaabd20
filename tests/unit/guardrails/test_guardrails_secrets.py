from __future__ import annotations

import pytest

from conftest import Detect, entities, spans

KEYS = {
    "AWS_ACCESS_KEY": "AKIAQYLPMN5HFIQR7XYZ",
    "GITHUB_TOKEN": "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "SLACK_TOKEN": "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "STRIPE_KEY": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "GOOGLE_API_KEY": "AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    "OPENAI_API_KEY": "sk-proj-" + "Xb7Kq9Lm2Np4Rs6Tv8Wx0Yz1Ab3Cd5Ef7Gh9Ij",
    "ANTHROPIC_API_KEY": "sk-ant-api03-" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe",
    "JWT": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
}


@pytest.mark.parametrize(("entity", "value"), sorted(KEYS.items()))
def test_known_key_formats(detect: Detect, entity: str, value: str) -> None:
    text = f"config: use {value} for the client"
    found = detect("secrets", text)
    assert (entity, value) in spans(text, found), found
    # the specific finding wins over the generic high-entropy one
    assert "HIGH_ENTROPY" not in entities(found)


def test_legacy_openai_key(detect: Detect) -> None:
    value = "sk-" + "T3BlbkFJ4x9Kq2LmZ8pW3rT6vY1nB4cD7fG0hJ5sQ1wE"
    assert ("OPENAI_API_KEY", value) in spans(value, detect("secrets", value))


def test_private_key_block_is_one_finding(detect: Detect) -> None:
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7b\nq3x==\n-----END RSA PRIVATE KEY-----"
    text = f"key:\n{pem}\nthanks"
    found = detect("secrets", text)
    assert spans(text, found) == [("PRIVATE_KEY", pem)]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("password=Tr0ub4dor&3", "Tr0ub4dor&3"),
        ('{"client_secret": "9f8e7d6c5b4aQ"}', "9f8e7d6c5b4aQ"),
        ("DB_PASSWORD: s3cr3t-Pa55", "s3cr3t-Pa55"),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
    ],
)
def test_assignments(detect: Detect, text: str, value: str) -> None:
    found = detect("secrets", text)
    assert value in [v for _, v in spans(text, found)], found


def test_high_entropy_token(detect: Detect) -> None:
    text = "token x9Kq2LmZ8pW3rT6vY1nB4cD7 here"
    assert spans(text, detect("secrets", text)) == [("HIGH_ENTROPY", "x9Kq2LmZ8pW3rT6vY1nB4cD7")]
    assert detect("secrets", text, {"highEntropy": False}) == []


@pytest.mark.parametrize(
    "text",
    [
        "request 550e8400-e29b-41d4-a716-446655440000 failed",  # UUID
        "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",  # git sha
        "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "see src/otelguard/guardrails/validators/secrets.py",  # a path
        "class ThisIsAVeryLongCamelCaseName123 and get_user_account_settings_by_id_2",
        "password = os.environ['DB_PASSWORD']",  # read from the environment
        "password: ${DB_PASSWORD} and password=<your password> and password=****",
        "sk-this-is-not-a-real-key-at-all for the docs",
        "max_tokens=4096, token: 512",
        "AKIA is the prefix of AWS access keys",
        "",
    ],
)
def test_negatives_and_traps(detect: Detect, text: str) -> None:
    found = detect("secrets", text)
    assert [f for f in found if f.score >= 0.5] == [], found


def test_secret_word_in_prose_scores_low(detect: Detect) -> None:
    found = detect("secrets", "The secret: always test your code.")
    assert all(f.score < 0.5 for f in found)


def test_type_selection(detect: Detect) -> None:
    text = f"{KEYS['AWS_ACCESS_KEY']} {KEYS['GITHUB_TOKEN']}"
    found = detect("secrets", text, {"types": ["GITHUB_TOKEN"], "highEntropy": False})
    assert entities(found) == ["GITHUB_TOKEN"]


def test_preview_never_contains_the_secret(detect: Detect) -> None:
    value = KEYS["OPENAI_API_KEY"]
    (finding,) = [f for f in detect("secrets", value) if f.entity == "OPENAI_API_KEY"]
    assert value not in finding.preview and value[:12] not in finding.preview
    assert value not in str(finding.to_json())
