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


# A UTF-16 surrogate pair written as two character references, hex or decimal: the high half
# D800–DBFF (55296–56319), then the low half DC00–DFFF (56320–57343).
_HIGH_REF = (
    r"&#(?:[xX]0*([dD][89abAB][0-9a-fA-F]{2})|0*(55(?:29[6-9]|[3-9]\d\d)|56(?:[0-2]\d\d|3[01]\d)));"
)
_LOW_REF = (
    r"&#(?:[xX]0*([dD][c-fC-F][0-9a-fA-F]{2})"
    r"|0*(56(?:3[2-9]\d|[4-9]\d\d)|57(?:[0-2]\d\d|3[0-3]\d|34[0-3])));"
)
_SURROGATE_PAIR_REFS = re.compile(_HIGH_REF + _LOW_REF)


def join_surrogate_refs(text: str) -> str:
    """`&#55362;&#57271;` (or `&#xD842;&#xDFB7;`) → `&#x20BB7;` (𠮷).

    Escapers that work in UTF-16 (JavaScript, Java) write a character beyond U+FFFF as two
    references to the halves of its surrogate pair. Each half alone is no character: XML
    refuses it and HTML reads it as U+FFFD, so 𠮷 would come out as �� or vanish. Only
    a high half directly followed by a low half is joined; lone halves are left as they are."""
    if "&#" not in text:
        return text
    return _SURROGATE_PAIR_REFS.sub(_join, text)


def _join(m: re.Match[str]) -> str:
    high = int(m.group(1), 16) if m.group(1) else int(m.group(2))
    low = int(m.group(3), 16) if m.group(3) else int(m.group(4))
    return f"&#x{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):X};"
