"""Which URLs belong to the same site: the registrable domain (Public Suffix List)."""

from __future__ import annotations

import ipaddress
import posixpath
from functools import cache
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList


@cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList()  # the list bundled with the package: no network


def registrable_domain(host: str) -> str:
    """'finance.sina.com.cn' → 'sina.com.cn'. An IP address or a name without a public
    suffix (localhost) is its own site."""
    host = host.lower().rstrip(".")
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    return _psl().privatesuffix(host) or host


def same_site(base: str, url: str) -> bool:
    """Whether `url` is on the site of `base`: the same scheme family and registrable
    domain for web URLs; for a local file, a file in the same folder or below."""
    try:
        b, u = urlsplit(base), urlsplit(url)
        b_host, u_host = b.hostname, u.hostname
    except ValueError:
        return False
    if b.scheme == "file" or u.scheme == "file":
        if b.scheme != u.scheme or (b.netloc or "") != (u.netloc or ""):
            return False
        folder = posixpath.dirname(b.path)
        return posixpath.normpath(u.path).startswith(folder.rstrip("/") + "/")
    if b.scheme not in ("http", "https") or u.scheme not in ("http", "https"):
        return False
    if not b_host or not u_host:
        return False
    return registrable_domain(b_host) == registrable_domain(u_host)
