"""Which characters may appear in what we publish: the one place that decides it."""

from __future__ import annotations

import re

_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 forbids (one of them would break a feed)."""
    return _XML_ILLEGAL.sub("", text)
