"""Finding a configured source by the name an operator typed.

Names are compared folded — width (NFKC: `－` = `-`), case, traditional = simplified (the
same folding that makes titles equal for dedup) and surrounding space — so `新浪财经-国内`
finds `新浪财经－国內`. A name that matches nothing gets the closest ones as suggestions.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from .dedup import fold
from .errors import UsageError


def name_key(name: str) -> str:
    """What two names must share to be the same name."""
    return "".join(fold(name).split())


def find_source(typed: str, names: Iterable[str]) -> str:
    """The configured name `typed` means; UsageError (with suggestions) when none or many."""
    names = list(names)
    if typed in names:
        return typed
    wanted = name_key(typed)
    hits = [n for n in names if name_key(n) == wanted]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise UsageError(f"{typed!r} matches several sources: {', '.join(hits)}")
    keyed = {name_key(n): n for n in names}
    close = [keyed[k] for k in difflib.get_close_matches(wanted, keyed, n=3, cutoff=0.5)]
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise UsageError(f"no source named {typed!r} in the config{hint}")
