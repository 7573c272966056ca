"""URL hygiene: credentials kept out of everything but the request, published URLs checked.

A source URL may carry `user:password@`. The password is sent with the request to that
origin and nowhere else: every URL that is resolved against it, published, logged or shown
goes through `redact` (or `publishable`, which also validates and percent-encodes).
"""

from __future__ import annotations

import logging
import re
import traceback
from urllib.parse import quote, unquote, urlsplit, urlunsplit

# Characters a URL may keep as they are (RFC 3986 reserved + unreserved, and '%' of escapes);
# anything else (spaces, quotes, '<', '>', '\\', controls, non-ASCII) is percent-encoded.
_KEEP = "/?#[]@!$&()*+,;=:-._~%"
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HOST = re.compile(r"^[a-z0-9.\-_]+$|^\[[0-9a-f:.]+\]$")
# `scheme://user[:password]@` anywhere in a text (log lines, error messages).
_USERINFO_IN_TEXT = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@?#]*@")
MAX_URL = 4096  # longer is not a link anyone follows: refused rather than published


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """`url` without its userinfo, and the (user, password) it carried, decoded."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, None
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    clean = urlunsplit(parts._replace(netloc=hostport))
    return clean, (unquote(user), unquote(password))


def redact(url: str) -> str:
    """`url` as it may be shown: without user and password."""
    return split_credentials(url)[0]


def redact_text(text: str) -> str:
    """Every `scheme://user:password@` in a free text with its userinfo removed."""
    return _USERINFO_IN_TEXT.sub(r"\1", text) if "@" in text else text


def same_origin(a: str, b: str) -> bool:
    try:
        pa, pb = urlsplit(a), urlsplit(b)
        return (pa.scheme.lower(), pa.hostname, pa.port) == (
            pb.scheme.lower(),
            pb.hostname,
            pb.port,
        )
    except ValueError:
        return False


def with_credentials_of(url: str, source: str) -> str:
    """`url` carrying `source`'s credentials when both are the same origin (a moved feed
    on the same server still needs its password), else `url` without any."""
    clean = redact(url)
    _, creds = split_credentials(source)
    if creds is None or not same_origin(clean, source):
        return clean
    parts = urlsplit(clean)
    userinfo = quote(creds[0], safe="") + (":" + quote(creds[1], safe="") if creds[1] else "")
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))


def publishable(url: str) -> str | None:
    """An absolute http(s) URL safe to put in any output, or None.

    No userinfo, a plausible host (IDNA-encoded when not ASCII), a valid port, at most
    `MAX_URL` characters, and every character outside RFC 3986's sets percent-encoded, so
    quotes, angle brackets and spaces can never end an attribute or a YAML/JSON string.
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host:
        return None
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if ":" in host:
        host = f"[{host}]"
    if not _HOST.match(host):
        return None
    netloc = host if port is None else f"{host}:{port}"
    rest = urlunsplit(("", "", parts.path, parts.query, parts.fragment))
    rest = _STRAY_PERCENT.sub("%25", quote(rest, safe=_KEEP))
    out = f"{scheme}://{netloc}{rest}"
    return out if len(out) <= MAX_URL else None


class RedactCredentials(logging.Filter):
    """Removes `user:password@` from a record's message and traceback before any output."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "@" in message:
            record.msg, record.args = redact_text(message), None
        if record.exc_info and record.exc_info[0] is not None:
            # Another handler may have cached the traceback text already: redact that.
            text = record.exc_text or "".join(traceback.format_exception(*record.exc_info))
            record.exc_text = redact_text(text.rstrip("\n"))
        return True
