"""URL hygiene: credentials kept for the request only; published URLs valid and encoded."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.urls import (
    MAX_URL,
    RedactCredentials,
    publishable,
    redact,
    redact_text,
    split_credentials,
    with_credentials_of,
)


def test_split_credentials() -> None:
    assert split_credentials("https://u%40x:p%3Aw@h.example:8443/f?q=1") == (
        "https://h.example:8443/f?q=1",
        ("u@x", "p:w"),
    )
    assert split_credentials("https://h.example/f") == ("https://h.example/f", None)
    assert redact("http://user@h/") == "http://h/"


def test_redact_text() -> None:
    text = "cannot connect to http://u:pw@h.example/feed: refused; see https://x@y/z"
    assert redact_text(text) == "cannot connect to http://h.example/feed: refused; see https://y/z"
    assert redact_text("mail me at a@b.example") == "mail me at a@b.example"


def test_credentials_follow_a_move_only_within_the_origin() -> None:
    src = "https://u:pw@feeds.example/a.xml"
    assert (
        with_credentials_of("https://feeds.example/b.xml", src)
        == "https://u:pw@feeds.example/b.xml"
    )
    assert with_credentials_of("https://other.example/b.xml", src) == "https://other.example/b.xml"
    assert with_credentials_of("http://feeds.example/b.xml", src) == "http://feeds.example/b.xml"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://finance.sina.com.cn/a/doc-i1.shtml?x=1#f",
            "https://finance.sina.com.cn/a/doc-i1.shtml?x=1#f",
        ),
        (
            'https://i.example/a.jpg" onerror="alert(1)',
            "https://i.example/a.jpg%22%20onerror=%22alert(1)",
        ),
        ("https://i.example/<script>", "https://i.example/%3Cscript%3E"),
        ("https://i.example/新闻 1.html", "https://i.example/%E6%96%B0%E9%97%BB%201.html"),
        ("https://i.example/100%", "https://i.example/100%25"),
        ("https://u:pw@i.example/", "https://i.example/"),
        ("HTTPS://I.Example:8443/p", "https://i.example:8443/p"),
        ("https://新浪.example/p", "https://xn--efvx5o.example/p"),
        ("https://[::1]:8080/p", "https://[::1]:8080/p"),
        ("javascript:alert(1)", None),
        ("https:///nohost", None),
        ("https://h.example:99999/", None),
        ("https://bad host.example/", None),
        ("https://h.example/" + "a" * MAX_URL, None),
    ],
)
def test_publishable(url: str, expected: str | None) -> None:
    assert publishable(url) == expected


@given(st.text(max_size=80))
def test_publishable_output_can_never_break_out_of_a_string(tail: str) -> None:
    out = publishable("https://h.example/" + tail)
    if out is None:
        return
    assert not any(c in out for c in "\"'<>\\ `{}|^") and out.isascii() and out.isprintable()
    assert urlsplit(out).hostname == "h.example" or "#" in tail or "?" in tail or "/" in tail
    assert publishable(out) == out, "encoding twice changes nothing"


def test_log_records_lose_their_passwords(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test.redact")
    caplog.handler.addFilter(RedactCredentials())
    try:
        raise ValueError("bad http://u:secret@h.example/x")
    except ValueError:
        log.exception("polling %s failed", "http://u:secret@h.example/x")
    assert "secret" not in caplog.text
    assert "polling http://h.example/x failed" in caplog.text
