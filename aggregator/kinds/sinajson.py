"""Reading Sina's JSON APIs: plain JSON or JSONP, the `result.status` envelope,
and fields whose numbers arrive as strings or ints and whose objects arrive as JSON strings."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ..errors import ParseError

# try{cb({...});}catch(e){};   or   cb({...});
_JSONP = re.compile(
    r"^\s*(?:try\s*\{\s*)?[A-Za-z_$][\w$.]*\s*\((?P<json>.*)\)\s*;?\s*"
    r"(?:\}\s*catch\s*\(\s*\w*\s*\)\s*\{\s*\}\s*;?\s*)?$",
    re.DOTALL,
)
_INT = re.compile(r"-?[0-9]+")


def read_result(body: bytes, content_type: str | None, ok_code: int) -> Mapping[str, Any]:
    """The `result` object of an API response; ParseError for anything else."""
    from ..parse import decode  # feedparser's import: only when a body came

    text = decode(body, content_type=content_type).lstrip("\ufeff").strip()
    if not text:
        raise ParseError("empty", "empty response instead of JSON")
    if text.startswith("<"):
        raise ParseError("not_a_feed", "an HTML page instead of JSON (an error page?)")
    jsonp = _JSONP.match(text) if not text.startswith("{") else None
    if jsonp:
        text = jsonp.group("json")
    try:
        data = json.loads(text)
    except ValueError as exc:  # JSONDecodeError and RecursionError-free inputs
        raise ParseError("malformed", f"truncated or invalid JSON: {exc}") from exc
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, dict):
        raise ParseError("not_a_feed", "JSON without a 'result' object")
    status = result.get("status")
    code = as_int(status.get("code")) if isinstance(status, dict) else None
    if code != ok_code:
        msg = status.get("msg") if isinstance(status, dict) else None
        raise ParseError("api_error", f"the API answered status {code!r}: {msg or 'no message'}")
    return result


def as_int(value: object) -> int | None:
    """An int, or a string of digits (Sina sends both), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    # ASCII digits only: str.isdigit() also accepts '¹' or '①', which int() refuses.
    if isinstance(value, str) and _INT.fullmatch(value.strip()):
        return int(value.strip())
    return None


def as_str(value: object) -> str:
    """A field as text: strings as they are, numbers written out, anything else ''."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def as_json(value: object) -> Any:
    """A field that may hold a JSON document as a string (`ext`, `urls`, …), decoded."""
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else None
        except ValueError:
            return None
    return value
