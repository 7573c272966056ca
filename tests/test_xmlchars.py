"""The one rule for characters in what we publish (xmlchars.py), over every code point."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from aggregator.xmlchars import is_text_char, is_xml_char, xml_chars_only, xml_safe

# XML 1.0 §2.2: Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
XML_CHAR = [(0x9, 0x9), (0xA, 0xA), (0xD, 0xD), (0x20, 0xD7FF), (0xE000, 0xFFFD)]
XML_CHAR.append((0x10000, 0x10FFFF))


def is_xml(code: int) -> bool:
    return any(lo <= code <= hi for lo, hi in XML_CHAR)


def is_control(code: int) -> bool:
    return 0x7F <= code <= 0x9F  # DEL and C1


def test_every_code_point_is_kept_or_dropped_by_the_rule() -> None:
    for code in [*range(0x0, 0x10000), 0x10000, 0x1F600, 0x10FFFF]:
        c = chr(code)
        keep = is_xml(code) and not is_control(code)
        assert (xml_safe(c) == c) is keep, hex(code)
        assert is_text_char(c) is keep, hex(code)
        assert (xml_chars_only(c) == c) is is_xml(code), hex(code)
        assert is_xml_char(c) is is_xml(code), hex(code)


def test_c1_controls_survive_until_parsing_repairs_them() -> None:
    assert xml_chars_only("a\x85b\x93") == "a\x85b\x93"  # parse.py reads them as cp1252
    assert xml_safe("a\x85b\x93\x7f") == "ab"


@given(st.text())
def test_safe_text_goes_into_xml_and_json_intact(text: str) -> None:
    safe = xml_safe(text)
    el = etree.Element("t")
    el.text = safe  # lxml refuses any character XML cannot carry
    assert (etree.fromstring(etree.tostring(el)).text or "") == safe
    assert json.loads(json.dumps(safe)) == safe
    assert not any(0x7F <= ord(c) <= 0x9F for c in safe)
