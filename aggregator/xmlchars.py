"""Which characters may appear in what we store and publish: the one place that decides it.

XML 1.0 (§2.2, the Char production) forbids the C0 controls other than tab, LF and CR,
lone surrogates and U+FFFE/U+FFFF: one of them makes a whole feed unreadable. It allows but
discourages DEL and the C1 controls (U+007F–U+009F); in a news article they are never text,
only the remains of a byte decoded with the wrong charset, HTML calls them parse errors and
YAML cannot carry them. So published text loses both sets (`xml_safe`).

The raw document keeps its C1 controls until it is parsed (`xml_chars_only`): parse.py reads
them as the Windows-1252 characters they were meant to be (0x85 '…', 0x93 '“').
"""

from __future__ import annotations

import re

_NOT_XML = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_CONTROLS = "\x7f-\x9f"  # DEL and C1
_NOT_XML_RE = re.compile(f"[{_NOT_XML}]")
_NOT_TEXT_RE = re.compile(f"[{_NOT_XML}{_CONTROLS}]")


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 forbids and without DEL and C1 controls."""
    return _NOT_TEXT_RE.sub("", text)


def is_text_char(c: str) -> bool:
    """Whether the one character `c` survives `xml_safe`."""
    return _NOT_TEXT_RE.match(c) is None


def is_xml_char(c: str) -> bool:
    """Whether the one character `c` is one XML 1.0 allows at all."""
    return _NOT_XML_RE.match(c) is None


def xml_chars_only(text: str) -> str:
    """`text` without the characters XML 1.0 forbids (C1 controls kept: see above)."""
    return _NOT_XML_RE.sub("", text)
