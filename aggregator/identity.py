"""Identity keys of an article and its stable emitted id.

Pure functions. Order of preference: Sina document id, canonical URL, feed guid,
hash of title and date.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .sites import sina

# Query parameters that only track the reader, never select content.
_TRACKING_PARAMS = frozenset(
    {
        "from",
        "spm",
        "spm_id_from",
        "share_token",
        "share_from",
        "fromsource",
        "wm",
        "vt",
        "cre",
        "mod",
        "loc",
        "r",
        "rfunc",
        "tj",
        "tr",
        "sudaref",
        "retcode",
        "fbclid",
        "gclid",
        "yclid",
        "mc_cid",
        "mc_eid",
        "ref",
        "referer",
    }
)

# The namespace of every emitted id: ids depend only on the identity key.
_ID_NAMESPACE = uuid.UUID("6f1c8a52-3c1e-5b8e-9c52-6a1f0e7d2b10")


_DEFAULT_PORTS = {"http": 80, "https": 443}


# Cached: normalize asks for a link's canonical form twice (its url: key, its provenance link).
@functools.lru_cache(maxsize=256)
def canonical_url(url: str) -> str | None:
    """https, lowercase host, no default port, no fragment, no tracking parameters."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    try:
        port = parts.port
    except ValueError:
        return None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in _TRACKING_PARAMS
    ]
    query.sort()
    path = parts.path or "/"
    return urlunsplit(("https", netloc, path, urlencode(query), ""))


def provenance_link(link: str) -> str:
    """The link as an article's provenance records it: its canonical form when it has one."""
    return canonical_url(link) or link


def title_date_hash(title: str, date_iso: str) -> str:
    digest = hashlib.sha1(f"{title}\x00{date_iso}".encode()).hexdigest()
    return f"hash:{digest}"


def identity_keys(
    link: str | None, guid: str | None, title: str, date_iso: str
) -> tuple[str, tuple[str, ...]]:
    """(primary key, every other key the article is known by), most specific first."""
    keys: list[str] = []
    guid = guid.strip() if guid else None
    # Most feeds repeat the link as the guid: derive its keys once.
    urls = (link, guid) if guid != link else (link,)  # pragma: no mutate (only saves work)
    for candidate in urls:
        if candidate:
            doc = sina.doc_id(candidate)
            if doc:
                keys.append(f"sina:{doc}")
    for candidate in urls:
        if candidate:
            canon = canonical_url(candidate)
            if canon:
                keys.append(f"url:{canon}")
    if guid:
        keys.append(f"guid:{guid}")
    if not keys:
        keys.append(title_date_hash(title, date_iso))
    unique = list(dict.fromkeys(keys))
    return unique[0], tuple(unique[1:])


def article_id(key: str) -> str:
    """The emitted id: an absolute IRI that depends only on the identity key."""
    # uuid.uuid5(_ID_NAMESPACE, key), spelled out: the same SHA-1 and version/variant bits
    # without building a UUID object (~4× faster; once per new article stored).
    raw = bytearray(hashlib.sha1(_ID_NAMESPACE.bytes + key.encode()).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = raw.hex()
    return f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
