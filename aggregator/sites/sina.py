"""Sina Finance (新浪财经) site knowledge: document ids, junk blocks, boilerplate."""

from __future__ import annotations

import re

# doc-i<id>.shtml (finance.sina.com.cn) and detail-i<id>.d.html (finance.sina.cn):
# the same article under two URL forms.
_DOC_ID = re.compile(
    r"^https?://[^/?#]*\bsina\.(?:com\.)?cn/[^?#]*?(?:doc|detail)-i([0-9a-z]{6,})(?:\.d)?\.s?html",
    re.IGNORECASE,
)


def doc_id(url: str) -> str | None:
    """Sina's document id of an article URL, lowercase, or None."""
    m = _DOC_ID.match(url.strip())
    return m.group(1).lower() if m else None
