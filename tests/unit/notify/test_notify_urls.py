"""Apprise URL handling: the .env list, masking for logs, redaction, ntfy message options."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

import pytest

from mediastack.notify.message import Notification
from mediastack.notify.urls import (
    SecretRedactor,
    is_ntfy_url,
    mask_url,
    parse_url_list,
    url_secrets,
    with_ntfy_options,
)


def test_url_list_splits_on_spaces_and_commas_but_not_inside_a_url() -> None:
    text = " ntfys://tk_abc@ntfy.example.org/alerts?tags=a,b, tgram://123:XYZ/42\n json://h/x "
    assert parse_url_list(text) == (
        "ntfys://tk_abc@ntfy.example.org/alerts?tags=a,b",
        "tgram://123:XYZ/42",
        "json://h/x",
    )


def test_url_list_drops_duplicates_and_blanks() -> None:
    assert parse_url_list("ntfy://h/t,,  ntfy://h/t ") == ("ntfy://h/t",)
    assert parse_url_list("   ") == ()


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("ntfys://tk_secret@ntfy.example.org/alerts?priority=high", "ntfys://ntfy.example.org"),
        ("ntfy://user:password@127.0.0.1:8080/topic", "ntfy://127.0.0.1:8080"),
        ("ntfy://localhost:80/topic", "ntfy://localhost:80"),
        ("json://[::1]:9000/path", "json://[::1]:9000"),
        ("ntfys://my-secret-topic", "ntfys://***"),
        ("tgram://123456:ABCdef/987", "tgram://***"),
        ("not a url", "***"),
    ],
)
def test_a_masked_url_keeps_scheme_and_real_host_only(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_secrets_of_a_url_are_its_user_password_path_query_and_token_host() -> None:
    secrets = url_secrets("tgram://123456:ABCdef/9876?token=t%40ken")
    assert {"123456:ABCdef", "9876", "t%40ken", "t@ken"} <= secrets
    assert "tgram" not in secrets
    assert "ntfy.example.org" not in url_secrets("ntfys://tk_x@ntfy.example.org/alerts")


def test_the_redactor_rewrites_a_record_and_ignores_short_pieces() -> None:
    redactor = SecretRedactor()
    redactor.register({"tk_supersecret", "abc"})
    record = logging.LogRecord(
        "apprise", logging.DEBUG, __file__, 1, "Bearer %s", ("tk_supersecret",), None
    )
    assert redactor.filter(record)
    assert record.getMessage() == "Bearer ***"
    assert redactor.redact("abc stays") == "abc stays"


def test_ntfy_options_replace_the_priority_and_add_tags() -> None:
    url = with_ntfy_options("ntfy://h/t?priority=max&tags=house&image=no", "low", ["warning"])
    query = parse_qs(url.partition("?")[2])
    assert url.startswith("ntfy://h/t?")
    assert query == {"image": ["no"], "priority": ["low"], "tags": ["house,warning"]}


def test_only_ntfy_schemes_are_ntfy_urls() -> None:
    assert is_ntfy_url("ntfy://h/t") and is_ntfy_url("NTFYS://h/t")
    assert not is_ntfy_url("json://h/t") and not is_ntfy_url("ntfy")


@pytest.mark.parametrize(
    ("priority", "word", "kind"),
    [(1, "min", "info"), (2, "low", "info"), (3, "default", "info"), (4, "high", "warning"),
     (5, "max", "failure")],
)  # fmt: skip
def test_a_priority_maps_to_ntfy_and_to_apprise_types(priority: int, word: str, kind: str) -> None:
    notification = Notification("title", "body", priority)
    assert (notification.ntfy_priority, notification.apprise_type) == (word, kind)


@pytest.mark.parametrize(
    "arguments", [{"priority": 0}, {"priority": 6}, {"tags": ("",)}, {"tags": ("a,b",)}]
)
def test_a_notification_refuses_an_impossible_priority_or_tag(arguments: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Notification("title", "body", **arguments)  # type: ignore[arg-type]
