"""Near-duplicate stories across outlets and retitled copies.

Identity-level dedup (same doc id / URL) is identity.py's job; this module decides
whether two *different* articles tell the same story:

- ``title_key`` / ``fingerprint`` / ``same_story``: pure decision logic.
- ``NearDupIndex``: SQLite-backed lookup that scales. Candidates come from indexes only
  (exact title key, and MinHash LSH bands), restricted to the published-time window, then
  verified with the same rule as ``same_story`` on a stored signature (no full text).

Why MinHash bands rather than SimHash bands: measured on the labelled set, a copy with ~5%
of its 3-grams changed (a dateline, a credit, a few edited characters) lands 4-12 bits away
in a 64-bit SimHash of a 100-200-character body, so 16-bit SimHash bands (distance <= 3)
missed it. 8 bands of 3 one-permutation MinHash values find a pair with Jaccard 0.7 with
probability 0.965, 0.8 with 0.997; two unrelated bodies (Jaccard ~0.05) share a band ~1e-3
of the time, so a lookup verifies a handful of rows, not the window.

Chinese has no spaces, so similarity works on character 3-grams, never on words.
"""

from __future__ import annotations

import hashlib
import heapq
import html
import re
import sqlite3
import sys
import unicodedata
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from difflib import SequenceMatcher
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where the hashing runs (see `_mix_array`)
    import numpy as np
    import numpy.typing as npt

    Hashes = npt.NDArray[np.uint64]

DEFAULT_WINDOW = timedelta(days=3)
SHINGLE_LEN = 3
# Bodies near-identical: estimated Jaccard of the 3-gram sets at least MIN_JACCARD, or
# SimHash within MAX_HAMMING bits (the classic test; rarely decides alone).
MIN_JACCARD = 0.6
MAX_HAMMING = 3
# A body with fewer distinct shingles than this cannot vouch for a match on its own.
MIN_SHINGLES = 24
SKETCH_SIZE = 48  # bottom-k sketch of 32-bit shingle hashes: 192 bytes stored per article
# One-permutation MinHash: the minimum hash in each of 32 bins (top 5 bits of the hash);
# LSH over BANDS bands of ROWS bins each.
_BIN_SHIFT = 59
_BINS = 1 << (64 - _BIN_SHIFT)
BANDS = 8
ROWS = 3
# A short "replace" between two titles is a swapped place/name/verb: a different story.
MAX_SWAP_CHARS = 4
# `same_body` needs this many distinct shingles (about as many characters): a line of
# boilerplate shared by unrelated flashes ("详见公告") must not vouch for a story.
BODY_MIN_SHINGLES = 40
# A replaced run of body characters at most this long is a template slot (a name, a figure);
# a longer one is a rewritten passage.
MAX_BODY_SWAP = 8
# A first line at most this long may be an echoed headline.
LEAD_MAX_CHARS = 120

_MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class Candidate:
    """What near-duplicate detection looks at: title, body (text or HTML), publication time."""

    title: str
    text: str
    published: datetime


@dataclass(frozen=True)
class Signature:
    """The compact facts a verification needs: stored by the index instead of the text."""

    title: str
    key: str
    fp: int  # unsigned 64-bit SimHash
    shingles: int  # number of distinct shingles
    sketch: tuple[int, ...]  # bottom-k of the 32-bit shingle hashes, ascending
    bands: tuple[int, ...] = ()  # MinHash LSH band keys (signed int64), empty if too short
    # The body's identity for `same_body` (0: none): a digest of its whole word stream, and,
    # when its first line may be a headline echo, that line's title-key hash and a digest
    # of the rest. Signed int64, like everything the index stores.
    body: int = 0
    lead: int = 0
    rest: int = 0
    # `headline_hash` of the other headlines the story has been merged under: an echo of
    # any of them is an echo too (the third copy may repeat the second one's headline).
    aliases: tuple[int, ...] = ()


# --- normalization ------------------------------------------------------------------------


@cache
def _t2s_table() -> dict[int, str]:
    """Traditional → simplified, character level (OpenCC's TSCharacters, Apache-2.0)."""
    text = (
        resources.files("opencc")
        .joinpath("dictionary/TSCharacters.txt")
        .read_text(encoding="utf-8")
    )
    pairs: dict[str, str] = {}
    for line in text.splitlines():
        src, _, dst = line.partition("\t")
        first = dst.split(" ")[0]
        if len(src) == 1 and len(first) == 1 and src != first:
            pairs[src] = first
    return {ord(k): _follow(pairs, v) for k, v in pairs.items()}


def _follow(pairs: dict[str, str], ch: str) -> str:
    """Resolve chains (A→B, B→C) so one translate pass is a fixed point."""
    for _ in range(4):
        nxt = pairs.get(ch)
        if nxt is None or nxt == ch:
            break
        ch = nxt
    return ch


@cache
def _t2s_bmp_pattern() -> re.Pattern[str]:
    """The BMP characters `_t2s_table` changes. A class of BMP characters compiles to a
    bitmap, so the regex finds the rare ones far faster than `str.translate` looks every
    character up in a 4,000-entry dict (a class with astral characters is a slow list)."""
    bmp = (chr(c) for c in sorted(_t2s_table()) if c <= 0xFFFF)
    return re.compile("[" + "".join(re.escape(c) for c in bmp) + "]")


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _to_simplified(text: str) -> str:
    """``text.translate(_t2s_table())``, without a dict lookup per character."""
    table = _t2s_table()
    if _ASTRAL.search(text):
        return text.translate(table)
    return _t2s_bmp_pattern().sub(lambda m: table[ord(m.group())], text)


@cache
def _compat_ascii() -> tuple[re.Pattern[str], dict[str, str]]:
    """BMP characters whose compatibility decomposition (NFKD) is plain ASCII: full-width
    forms, the ideographic space, …, ①. Chinese text is full of them, and each one sends
    `unicodedata.normalize` down its slow path for the whole string."""
    table = {}
    for code in range(0x80, 0x10000):
        if 0xD800 <= code < 0xE000:
            continue
        ch = chr(code)
        decomposed = unicodedata.normalize("NFKD", ch)
        if decomposed != ch and decomposed.isascii():
            table[ch] = decomposed
    return re.compile("[" + "".join(re.escape(c) for c in table) + "]"), table


# Full-width punctuation of Chinese text, commonest first (workload A: ， is ~85 % of all).
_COMMON_COMPAT = "，；（）：？！"


def _nfkc(text: str) -> str:
    """``unicodedata.normalize("NFKC", text)``, faster on typical Chinese text.

    Replacing a character by its full NFKD decomposition leaves the NFKC of the string
    unchanged (NFKC composes the canonically ordered full decomposition, which is the same
    sequence either way); once the common compatibility characters are replaced, the text
    usually passes NFKC's quick check and is returned as is.
    """
    pattern, table = _compat_ascii()
    # The commonest ones by str.replace (a C scan each), the rest by the regex: a Python
    # call per replaced character was most of this function's time on Chinese news.
    for common in _COMMON_COMPAT:
        text = text.replace(common, table[common])
    return unicodedata.normalize("NFKC", pattern.sub(lambda m: table[m.group()], text))


def _fold(text: str) -> str:
    """NFKC (width), traditional → simplified, case-folded."""
    return _to_simplified(_nfkc(text)).casefold()


def fold(text: str) -> str:
    """What makes two spellings one: width, traditional/simplified, case (names.py too)."""
    return _fold(text)


# Punctuation between digits is part of a number (1.5升 ≠ 15升, 1-11 ≠ 11-1): keep it,
# normalized; thousands separators go; every other non-word character goes.
_STRIP = re.compile(r"(?<=\d)([.:/\-~])(?=\d)|[\W_]+")


def _keep_number_joint(m: re.Match[str]) -> str:
    joint = m.group(1)
    return "" if joint is None else "-" if joint == "~" else joint


def _key_once(text: str) -> str:
    return _STRIP.sub(_keep_number_joint, _nfkc(_fold(text)))


def title_key(title: str) -> str:
    """Title folded for equality: width, case, traditional, whitespace and punctuation."""
    key = _key_once(title)
    for _ in range(3):  # NFKC/casefold interactions on exotic input: iterate to a fixed point
        again = _key_once(key)
        if again == key:
            break
        key = again
    return key


def alternative_titles(kept: str, known: Sequence[str], *new: str) -> tuple[str, ...]:
    """A merged story's other headlines: ``known`` then each of ``new`` that is neither the
    kept title nor one already known, up to `title_key` and a leading outlet or flash tag
    (【财联社】, 独家: the same headline, signed)."""

    def key(title: str) -> str:
        return _TITLE_TAGS.sub("", title_key(title))

    seen = {key(kept), *(key(t) for t in known)}
    out = list(known)
    for title in new:
        k = key(title)
        if k and k not in seen:
            seen.add(k)
            out.append(title)
    return tuple(out)


# --- boilerplate --------------------------------------------------------------------------

_COMMENT = re.compile(r"<!--.*?-->", re.S)
_STYLE_SCRIPT = re.compile(r"<(style|script)\b.*?</\1\s*>", re.S | re.I)
_BLOCK_TAG = re.compile(r"</?(?:p|div|br|li|tr|h\d|section|table|blockquote)\b[^>]*>", re.I)
_TAG = re.compile(r"<[^>]*>")
_LINE_BOILERPLATE = re.compile(
    r"^(?:原标题|来源|文章来源|本文来源|责任编辑|编辑|图片来源|图表|校对|审核)\s*[:：]"
)
# Sina's app promotion line, in case a body reaches us uncleaned.
_JUNK_LINE = ("尽在新浪财经APP", "视频加载中")  # anywhere in a line; at its start


def _junk_line(line: str) -> bool:
    # Not one regex (a|^b): without a literal prefix, it tried a match at every character.
    return _JUNK_LINE[0] in line or line.startswith(_JUNK_LINE[1])


_HEADLINE_ECHO = re.compile(r"^【[^】]{1,150}】")
_OUTLETS = (
    "财联社|证券时报网|证券时报e公司|证券时报|e公司|中证网|上证报中国证券网|中国证券网|上海证券报|"
    "新浪财经|新浪科技|中新网|中新经纬客户端|中新经纬|中国新闻网|新华社|新华网|人民网|央视网|"
    "央视新闻|央广网|每经网|每日经济新闻|界面新闻|第一财经|经济观察网|澎湃新闻|证券日报网|"
    "证券日报|北京商报|21世纪经济报道|金融界|格隆汇|智通财经|华尔街见闻|中国经济网|财新网"
)
_DATE = r"(?:\d{4}年)?(?:\d{1,2}月)?\d{1,2}日"
_PAREN = r"[(（][^()（）]{0,30}[)）]"
_SEP = r"[\s,，:：]"
# Outlet, optional place+date, optional 电/讯, then (记者 …) and/or a separator.
_WIRE_PREFIX = re.compile(
    rf"^(?:{_OUTLETS})(?:[\u4e00-\u9fff]{{0,6}}?{_DATE})?(?:电|讯|消息|报道)?"
    rf"(?:{_PAREN}{_SEP}*|{_SEP}+)"
    rf"|^[\u4e00-\u9fff]{{2,10}}?{_DATE}(?:电|讯)(?:{_PAREN})?{_SEP}*"
)
_TRAILING_CREDIT = re.compile(r"[(（][^()（）]{1,30}[)）]\s*$")


def _lines(text: str) -> list[str]:
    """Plain-text lines of a body given as text or HTML."""
    if "<" in text:
        text = _STYLE_SCRIPT.sub("", _COMMENT.sub("", text))
        text = _TAG.sub("", _BLOCK_TAG.sub("\n", text))
    text = _nfkc(html.unescape(text))
    return [line.strip() for line in text.splitlines() if line.strip()]


def strip_boilerplate(text: str) -> str:
    """The story's own words: no wire prefix, headline echo, credits or editor lines."""
    return _strip(text)[1]


def _strip(text: str) -> tuple[str, str]:
    """`strip_boilerplate`, and the 【】 headline echo it removed ("" if none)."""
    lines = [
        ln
        for ln in _lines(text)
        if not (_LINE_BOILERPLATE.match(ln) and len(ln) <= 80) and not _junk_line(ln)
    ]
    if not lines:
        return "", ""
    echo = _HEADLINE_ECHO.match(lines[0])
    if echo:
        lines[0] = lines[0][echo.end() :].strip()
    # The dateline may follow headline-echo paragraphs: look at the first three lines. A
    # republisher may put its own dateline before the original's: take up to two.
    for i in range(min(3, len(lines))):
        lines[i] = _WIRE_PREFIX.sub("", _WIRE_PREFIX.sub("", lines[i], count=1), count=1)
    last = lines[-1]
    while (trimmed := _TRAILING_CREDIT.sub("", last).rstrip()) != last:
        last = trimmed
    lines[-1] = last
    return echo.group()[1:-1] if echo else "", "\n".join(ln for ln in lines if ln)


# One character a match, not runs ([\W_]+): a pattern opening with a class is searched for
# by scanning for that class, a repeat by trying a match at every character (2× slower);
# every use deletes, so the two remove the same characters.
_NOT_WORD = re.compile(r"[\W_]")


def _body_chars(text: str) -> str:
    return _NOT_WORD.sub("", _fold(strip_boilerplate(text)))


# --- shingles, SimHash, sketch ------------------------------------------------------------


def _mix(v: int) -> int:
    """splitmix64 finalizer: a stable, well-spread 64-bit hash (hash() is salted per run)."""
    v = ((v ^ (v >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    v = ((v ^ (v >> 27)) * 0x94D049BB133111EB) & _MASK64
    return v ^ (v >> 31)


# A text's shingles are hashed in one of two ways with the same values (the tests hold
# both to the scalar definition): numpy arrays of uint64, whose arithmetic wraps modulo
# 2**64 as `_mix`'s `& _MASK64` does, or "lanes" of one big Python int. numpy signs an
# article in ~0.2 ms where lanes take ~0.35-0.5, but importing it costs ~125 ms of CPU,
# ~10 % of a whole `once` whose poll brings one new article (2026-12-01). So a process
# signs with lanes until it has signed ARRAYS_AFTER articles, then imports numpy (a cold
# ingest's workers pay ~20 ms of lanes each); a process that only looks signatures up
# never imports it.
ARRAYS_AFTER = 100
_signed = 0  # articles this process has signed with lanes


def _use_arrays() -> bool:
    """Whether to sign this article with numpy (see ARRAYS_AFTER); counts the ones not."""
    global _signed
    if _signed >= ARRAYS_AFTER or "numpy" in sys.modules:
        return True
    _signed += 1  # a lost increment between threads only delays the switch by one
    return False


@dataclass(frozen=True, slots=True)
class _Shingled:
    """What a signature takes from a text's hashed 3-grams."""

    grams: Sequence[int] | Hashes  # every gram's hash in text order, repeats included
    shingles: int  # distinct grams
    fp: int  # unsigned SimHash
    sketch: tuple[int, ...]
    minima: list[int]  # MinHash bins, densified; empty below MIN_SHINGLES shingles


def _shingled(chars: str) -> _Shingled:
    return _shingled_arrays(chars) if _use_arrays() else _shingled_lanes(chars)


# --- numpy


def _shingled_arrays(chars: str) -> _Shingled:
    grams = _gram_hashes(chars)
    ordered = _distinct(grams)
    size = len(ordered)
    minima = _bin_minima(ordered).tolist() if size >= MIN_SHINGLES else []
    return _Shingled(grams, size, _simhash(ordered), _sketch(ordered), minima)


def _mix_array(v: Hashes) -> Hashes:
    """`_mix` of every value (each < 2**64)."""
    import numpy as np

    v = (v ^ (v >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    v = (v ^ (v >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return v ^ (v >> np.uint64(31))


def _gram_hashes(chars: str) -> Hashes:
    """The hash of every 3-gram in text order, repeats included: item i is the gram that
    starts at character i (so the grams of ``chars[k:]`` are the items from k on)."""
    import numpy as np

    if len(chars) < SHINGLE_LEN:
        if not chars:
            return np.empty(0, dtype=np.uint64)
        return np.array([_mix(sum(ord(c) << (21 * i) for i, c in enumerate(chars)))], np.uint64)
    # UTF-32 is the code points as 4-byte ints (at most 0x10FFFF: 21 bits each).
    raw = np.frombuffer(chars.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    codes = raw.astype(np.uint64)
    return _mix_array((codes[:-2] << np.uint64(42)) | (codes[1:-1] << np.uint64(21)) | codes[2:])


def _distinct(hashes: Hashes) -> Hashes:
    """The distinct values, ascending."""
    import numpy as np

    ordered = np.sort(hashes)
    if ordered.size < 2:
        return ordered
    keep = np.empty(ordered.size, dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _simhash(hashes: Hashes) -> int:
    """64-bit SimHash: bit i set when most shingle hashes have bit i set."""
    import numpy as np

    n = hashes.size
    if not n:
        return 0
    # Row r: the 64 bits of hash r, lowest first (little-endian bytes, each bit by bit).
    as_bytes = hashes.astype("<u8", copy=False).view(np.uint8)
    bits = np.unpackbits(as_bytes, bitorder="little").reshape(n, 64)
    # Hashes with bit i, per i. Summed in the narrowest type that cannot overflow: numpy
    # widens each row to the sum's type first, and uint16 is ~1.7x faster than uint32.
    ones = np.add.reduce(bits, axis=0, dtype=np.uint16 if n <= 0xFFFF else np.uint32)
    # ones > n // 2: the majority (2 * ones > n) without a product that could wrap.
    return int.from_bytes(np.packbits(ones > n // 2, bitorder="little").tobytes(), "little")


@cache
def _bins() -> tuple[Hashes, npt.NDArray[np.int64]]:
    """Each bin's lower edge, and its number."""
    import numpy as np

    return np.arange(_BINS, dtype=np.uint64) << np.uint64(_BIN_SHIFT), np.arange(
        _BINS, dtype=np.int64
    )


def _bin_minima(ordered: Hashes) -> Hashes:
    """One-permutation MinHash: `_mix` of the smallest hash per bin, empty bins densified.

    ``ordered`` is sorted and distinct, so a bin's hashes lie between the first hash at or
    after its lower edge and the next bin's. An empty bin borrows the next non-empty bin's
    value plus the steps it took (rotation densification), so similar sets still agree
    there.
    """
    import numpy as np

    size = ordered.size
    if not size:
        return np.empty(0, dtype=np.uint64)
    edges, numbers = _bins()
    starts = np.searchsorted(ordered, edges)
    filled = np.flatnonzero(starts < np.append(starts[1:], size))  # bins holding a hash
    nxt = filled[np.searchsorted(filled, numbers) % filled.size]  # cyclically next
    steps = ((nxt - numbers) % _BINS).astype(np.uint64)
    dense = ordered[starts[nxt]] + steps
    if (dense < steps).any():  # a sum reached 2**64: `_mix` takes the exact big int
        big = [int(m) + int(s) for m, s in zip(ordered[starts[nxt]], steps, strict=True)]
        return np.array([_mix(v) for v in big], dtype=np.uint64)
    return _mix_array(dense)


def _sketch(ordered: Hashes) -> tuple[int, ...]:
    """Bottom-k sketch: the SKETCH_SIZE smallest distinct 32-bit prefixes. The prefixes of
    the smallest hashes are the smallest prefixes, and ``ordered`` is sorted."""
    import numpy as np

    prefixes = _distinct(ordered[: SKETCH_SIZE * 2] >> np.uint64(32))
    return tuple(prefixes[:SKETCH_SIZE].tolist())


# --- lanes: every value in its own 128-bit lane of one big int, so a shift, a mask or a
# multiplication by a 64-bit constant acts on all lanes in one C-level operation (a lane's
# 64x64-bit product fits its 128 bits, so no carry reaches the next lane).

_LANE_BITS = 128
_LANE_BYTES = _LANE_BITS // 8


def _shingled_lanes(chars: str) -> _Shingled:
    grams = _lane_gram_hashes(chars)
    ordered = sorted(set(grams))
    size = len(ordered)
    # ``ordered`` is sorted: dict.fromkeys keeps the distinct prefixes ascending.
    sketch = tuple(dict.fromkeys(h >> 32 for h in ordered[: SKETCH_SIZE * 2]))[:SKETCH_SIZE]
    minima = _lane_bin_minima(ordered) if size >= MIN_SHINGLES else []
    return _Shingled(grams, size, _lane_simhash(ordered), sketch, minima)


def _lanes(value: int, count: int) -> int:
    """``value`` (< 2**128) repeated in ``count`` lanes."""
    return int.from_bytes(value.to_bytes(_LANE_BYTES, "little") * count, "little")


def _to_lanes(values: Sequence[int]) -> int:
    """Each value (< 2**128) in its own lane, the first in the lowest."""
    return int.from_bytes(b"".join(v.to_bytes(_LANE_BYTES, "little") for v in values), "little")


def _from_lanes(lanes: int, count: int) -> list[int]:
    """The low 64 bits of each of ``count`` lanes."""
    raw = array("Q", lanes.to_bytes(_LANE_BYTES * count, "little"))
    if sys.byteorder != "little":
        raw.byteswap()
    return list(raw[:: _LANE_BYTES // 8])


def _mix_lanes(v: int, count: int) -> int:
    """`_mix` applied to every one of ``count`` lanes (any value that fits a lane: the
    masks drop what the shifts pull in from the next lane, and `_mix` masks the same way)."""
    low = _lanes(_MASK64, count)  # keeps each lane's low 64 bits: what `& _MASK64` keeps
    v = ((v ^ (v >> 30)) & low) * 0xBF58476D1CE4E5B9 & low
    v = ((v ^ (v >> 27)) & low) * 0x94D049BB133111EB & low
    return (v ^ (v >> 31)) & low


def _lane_gram_hashes(chars: str) -> list[int]:
    """`_gram_hashes` with lanes."""
    if len(chars) < SHINGLE_LEN:
        return [_mix(sum(ord(c) << (21 * i) for i, c in enumerate(chars)))] if chars else []
    count = len(chars) - SHINGLE_LEN + 1
    # The code points, one per lane (UTF-32's top byte is always 0: max 0x10FFFF).
    raw = chars.encode("utf-32-le", "surrogatepass")
    wide = bytearray(_LANE_BYTES * len(chars))
    for byte in range(3):
        wide[byte::_LANE_BYTES] = raw[byte::4]
    codes = int.from_bytes(wide, "little")
    # Lane i: (c[i] << 42) | (c[i+1] << 21) | c[i+2] — the next lanes shifted down into it.
    grams = (codes << 42) | (codes >> (_LANE_BITS - 21)) | (codes >> (2 * _LANE_BITS))
    grams &= (1 << (_LANE_BITS * count)) - 1  # drop the two incomplete trailing grams
    return _from_lanes(_mix_lanes(grams, count), count)


def _lane_simhash(hashes: Sequence[int]) -> int:
    """`_simhash` of ``hashes`` laid out as little-endian bytes: column k (every 8th byte
    from k) holds bits 8k..8k+7 of every hash. Read as one big int, a column ANDed with bit
    j of every byte has as many bits set as there are hashes with bit 8k+j: 64 AND +
    popcounts of n-byte ints, no Python step per hash."""
    n = len(hashes)
    if not n:
        return 0
    raw = array("Q", hashes)
    if sys.byteorder != "little":
        raw.byteswap()
    packed = raw.tobytes()
    ones = int.from_bytes(b"\x01" * n, "little")
    masks = [ones << j for j in range(8)]
    fp = 0
    for k in range(8):
        column = int.from_bytes(packed[k::8], "little")
        for j, mask in enumerate(masks):
            if 2 * (column & mask).bit_count() > n:
                fp |= 1 << (8 * k + j)
    return fp


_BIN_EDGES = tuple(b << _BIN_SHIFT for b in range(_BINS))


def _lane_bin_minima(ordered: Sequence[int]) -> list[int]:
    """`_bin_minima` with lanes (a borrowed value may pass 2**64: lanes hold 128 bits)."""
    size = len(ordered)
    minima: list[int | None] = []
    for b, edge in enumerate(_BIN_EDGES):
        i = bisect_left(ordered, edge)
        minima.append(ordered[i] if i < size and ordered[i] >> _BIN_SHIFT == b else None)
    if all(m is None for m in minima):
        return []
    dense: list[int] = []
    for b in range(_BINS):
        step = 0
        while (m := minima[(b + step) % _BINS]) is None:
            step += 1
        dense.append(m + step)
    return _from_lanes(_mix_lanes(_to_lanes(dense), _BINS), _BINS)


# --- either way


def _to_signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _to_unsigned(value: int) -> int:
    return value & _MASK64


def fingerprint(text: str) -> int:
    """SimHash of the body's character 3-grams after boilerplate removal, as signed int64."""
    return _to_signed(_shingled(_body_chars(text)).fp)


def _band_keys(minima: Sequence[int]) -> tuple[int, ...]:
    """Per band: acc = band, then acc = _mix(acc ^ row) for each of its ROWS minima."""
    # 24 values: Python ints beat array calls (and lanes) at this size.
    keys = []
    for band in range(BANDS):
        acc = band
        for value in minima[band * ROWS : (band + 1) * ROWS]:
            acc = _mix(acc ^ value)
        keys.append(_to_signed(acc))
    return tuple(keys)


def _hash64(text: str) -> int:
    """A stable signed 64-bit hash of a string (`hash` is salted per run), never 0."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True) or 1


def headline_hash(title: str) -> int:
    """What `same_body` compares an echoed line with: the hash of the title's word characters
    (folded as the body is)."""
    return _key_headline(title_key(title))


def _key_headline(key: str) -> int:
    """`headline_hash` from a title key (already folded: only its number joints go)."""
    return _hash64(_NOT_WORD.sub("", key))


def _line_headline(line: str) -> int:
    """`headline_hash` of a body line, without the cost of a title key."""
    return _hash64(_NOT_WORD.sub("", _fold(line)))


def _body_identity(
    echo: str, stripped: str, chars: str, grams: Sequence[int] | Hashes, shingles: int
) -> tuple[int, int, int]:
    """(body, lead, rest) of a `Signature`: hashes of the body's word stream ``chars``. The
    lead is what may be an echoed headline: the 【】 echo, or else a short first line;
    ``rest`` hashes what follows it, for `same_body` to compare when the lead turns out to
    repeat a headline. A 【】 echo is outside ``chars``, so ``body`` mixes it back in: a
    flash's facts may be all there. Zeros where too little text is left to vouch for a
    story (fewer than BODY_MIN_SHINGLES distinct shingles)."""
    if shingles < BODY_MIN_SHINGLES:
        return 0, 0, 0
    if echo:
        rest, lead = _hash64(chars), _line_headline(echo)
        return _to_signed(_mix(_to_unsigned(rest) ^ _to_unsigned(lead))) or 1, lead, rest
    body = _hash64(chars)
    first, newline, _ = stripped.partition("\n")
    if not newline or len(first) > LEAD_MAX_CHARS:
        return body, 0, 0
    first_chars = _NOT_WORD.sub("", _fold(first))
    if not chars.startswith(first_chars):
        return body, 0, 0
    k = len(first_chars)
    # The first k grams hold at most k distinct ones: count the rest's only when in doubt.
    if shingles - k < BODY_MIN_SHINGLES and len(set(grams[k:])) < BODY_MIN_SHINGLES:
        return body, 0, 0
    return body, _hash64(first_chars), _hash64(chars[k:])


def signature(title: str, text: str) -> Signature:
    """Everything verification needs, computed once per article."""
    echo, stripped = _strip(text)
    chars = _NOT_WORD.sub("", _fold(stripped))
    hashed = _shingled(chars)
    body, lead, rest = _body_identity(echo, stripped, chars, hashed.grams, hashed.shingles)
    return Signature(
        title=title,
        key=title_key(title),
        fp=hashed.fp,
        shingles=hashed.shingles,
        sketch=hashed.sketch,
        bands=_band_keys(hashed.minima) if hashed.minima else (),
        body=body,
        lead=lead,
        rest=rest,
    )


# --- decision -----------------------------------------------------------------------------

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# Figures are compared as numbers above; in the word alignment they go with their date unit,
# so "1-7月…" vs "独家：…" is an insertion, not a swap of 月 for 独家.
_FIGURE = re.compile(r"\d+[年月日号时]?")
# "财联社：", "【独家】" in front of a title say who ran it, not what happened.
_TITLE_TAGS = re.compile(rf"^(?:{_OUTLETS}|独家|快讯|最新|突发|重磅|刚刚|视频|图解|官方通报)+")


def _numbers(title: str) -> set[str]:
    # Spaces inside a figure ("3 5 . 4") are layout, not two numbers.
    folded = re.sub(r"\s+", "", unicodedata.normalize("NFKC", title))
    return set(_NUMBER.findall(folded))


def titles_conflict(a: str, b: str) -> bool:
    """Titles that name different numbers, places, names or dates: different stories.

    A retitle adds or drops words (source prefix, 【】, a clause); a different story of the
    same template swaps them: 上海→北京, 1-7月→1-6月, 涨→跌.
    """
    na, nb = _numbers(a), _numbers(b)
    if na - nb and nb - na:
        return True
    # Sorted so the alignment, hence the answer, does not depend on argument order.
    ka, kb = sorted((_alignable(a), _alignable(b)))
    matcher = SequenceMatcher(None, ka, kb, autojunk=False)
    ops = matcher.get_opcodes()
    swaps = [
        (n, i2 - i1, j2 - j1) for n, (tag, i1, i2, j1, j2) in enumerate(ops) if tag == "replace"
    ]
    if not swaps:
        return False
    if any(max(la, lb) <= MAX_SWAP_CHARS for _, la, lb in swaps):
        return True
    # A longer swap between agreeing parts, or in titles that mostly agree, is a template
    # slot (内蒙古自治区 → 新疆维吾尔自治区, 工业增加值 → 零售总额), not a rephrase.
    if any(0 < n < len(ops) - 1 for n, _, _ in swaps):
        return True
    shared = sum(block.size for block in matcher.get_matching_blocks())
    return shared * 2 >= min(len(ka), len(kb))


def _alignable(title: str) -> str:
    """Title key without figures (compared apart) and without leading source/flash tags."""
    return _TITLE_TAGS.sub("", _FIGURE.sub("", title_key(title)))


def hamming(a: int, b: int) -> int:
    return (_to_unsigned(a) ^ _to_unsigned(b)).bit_count()


def jaccard_estimate(a: Sequence[int], b: Sequence[int]) -> float:
    """Jaccard of two sets from their bottom-k sketches (exact when both sets are small)."""
    union = heapq.nsmallest(SKETCH_SIZE, set(a) | set(b))
    if not union:
        return 0.0
    sa, sb = set(a), set(b)
    return sum(1 for h in union if h in sa and h in sb) / len(union)


def bodies_near_identical(a: Signature, b: Signature) -> bool:
    if min(a.shingles, b.shingles) < MIN_SHINGLES:
        return False
    if hamming(a.fp, b.fp) <= MAX_HAMMING:
        return True
    return jaccard_estimate(a.sketch, b.sketch) >= MIN_JACCARD


def same_body(a: Signature, b: Signature) -> bool:
    """The same body, word for word once wire datelines, 原标题/source/editor lines, credits
    and an echoed headline (either item's or an alias's, in 【】 or as a first line) are
    gone; markup, width, script, punctuation and paragraph breaks aside. Exact on purpose:
    a template filled with another place, company, day or figure differs in its words, so
    only the same report can pass, and it then passes whatever its headline says."""
    if a.body and a.body == b.body:
        return True
    # Otherwise a lead must go: from a (its rest is b's body or rest), from b, or from both.
    drop_a = bool(a.rest) and a.rest in (b.body, b.rest)
    drop_b = bool(b.rest) and b.rest in (a.body, a.rest)
    if not (drop_a or drop_b):
        return False  # the common case, decided without hashing a headline
    echoes = {_key_headline(k) for k in (a.key, b.key) if k}.union(a.aliases, b.aliases)
    a_goes, b_goes = a.lead in echoes, b.lead in echoes
    if a.rest == b.rest and a_goes and b_goes:
        return True
    return (a_goes and a.rest == b.body) or (b_goes and b.rest == a.body)


# A day in a title: "8月9日", "9日", "9号", a weekday. Editions of a daily column differ in it.
_DAY = re.compile(r"(\d{1,2})[日号]|(?:周|星期)([一二三四五六日天])")


def _days(title: str) -> set[str]:
    folded = re.sub(r"\s+", "", unicodedata.normalize("NFKC", title))
    return {"".join(m.groups(default="")) for m in _DAY.finditer(folded)}


def days_conflict(a: str, b: str) -> bool:
    """Titles naming different days: another edition, even of a word-for-word body."""
    da, db = _days(a), _days(b)
    return bool(da - db and db - da)


def same_signature(a: Signature, b: Signature) -> bool:
    """The story rule on signatures (time window checked by the caller): the same body is
    one story whatever the headlines say (one release retitled with each of its figures),
    unless they name different days; otherwise equal title keys or near-identical bodies
    (a copy lightly edited) under titles that do not conflict."""
    if same_body(a, b):
        return not days_conflict(a.title, b.title)
    if not ((a.key and a.key == b.key) or bodies_near_identical(a, b)):
        return False
    return not titles_conflict(a.title, b.title)  # the costly check, last


def bodies_conflict(a: Candidate, b: Candidate) -> bool:
    """Bodies that differ where a template's slots are: a figure replaced by another figure,
    or a word one title names replaced by something the other title does not name (上海 →
    北京, 贵州茅台 → 五粮液). Catches templated reports the signatures call near-identical
    under titles too unlike to be compared (`titles_conflict` sees no swap between
    "上海昨日本土无新增" and "最新通报：北京疫情防控情况"). Needs both texts: the store
    checks the kept story's once `NearDupIndex.find` has named it. Insertions, deletions and
    rewritten passages (longer than MAX_BODY_SWAP) are edits, not other facts."""
    ca, cb = _body_chars(a.text), _body_chars(b.text)
    if ca == cb:
        return False
    ta, tb = _NOT_WORD.sub("", _fold(a.title)), _NOT_WORD.sub("", _fold(b.title))
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, ca, cb, autojunk=False).get_opcodes():
        x, y = ca[i1:i2], cb[j1:j2]
        if tag != "replace" or max(len(x), len(y)) > MAX_BODY_SWAP:
            continue
        if _DIGIT.search(x) and _DIGIT.search(y):
            return True
        if _names(ca, i1, i2, ta, tb) or _names(cb, j1, j2, tb, ta):
            return True
    return False


_DIGIT = re.compile(r"\d")


def _names(chars: str, i: int, j: int, own: str, other: str) -> bool:
    """The replaced run chars[i:j] is (part of) a word its own title names and the other
    title does not. A one-character run is taken with a neighbour: 上海 → 上饶 replaces 海."""
    runs = [chars[i:j]] if j - i > 1 else [chars[max(i - 1, 0) : j], chars[i : j + 1]]
    return any(len(run) > 1 and run in own and run not in other for run in runs)


def same_story(a: Candidate, b: Candidate, window: timedelta = DEFAULT_WINDOW) -> bool:
    """Same story: the same body, or equal title keys or near-identical bodies under titles
    not conflicting; bodies not differing in a template's slots; published within
    ``window`` of each other."""
    if abs(a.published - b.published) > window:
        return False
    if not same_signature(signature(a.title, a.text), signature(b.title, b.text)):
        return False
    return not bodies_conflict(a, b)


# --- index --------------------------------------------------------------------------------


def _pack(values: Iterable[int], code: str) -> bytes:
    raw = array(code, values)
    if sys.byteorder != "little":
        raw.byteswap()
    return raw.tobytes()


def _unpack(blob: bytes, code: str) -> tuple[int, ...]:
    raw = array(code)
    raw.frombytes(blob)
    if sys.byteorder != "little":
        raw.byteswap()
    return tuple(raw)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


_COLUMNS = "seq, id, dup_of, title, tkey, fp, shingles, sketch, body, lead, rest, aliases"

# A lookup verifies at most MAX_VERIFIED stored articles, taken from at most
# NEAREST_PER_KEY rows on each side of the candidate's time per title key and per band key.
# Text from a small vocabulary (figure tables, template flashes) puts most of the window in
# the same buckets: unbounded, every lookup verified all of them and ingest grew with the
# square of the window. The rows most likely to be the story come first: a title-key match
# outranks any number of bands, then more shared bands, then the earliest stored (the rule
# `find` answers by). Real stories rarely fill a bucket beyond a few rows, so the caps bind
# only on look-alike text (bench/bench_lookalike.py, quality: bench/dedup_quality.py).
NEAREST_PER_KEY = 8
MAX_VERIFIED = 32
_TITLE_WEIGHT = 100  # more than all BANDS together


def _nearest(table: str, column: str, weight: int) -> list[str]:
    """Two ranges of one key's index (column, published): the rows just at/after the
    candidate's time and just before it; parameters (key, at, hi) then (key, lo, at - 1)."""
    return [
        f"SELECT seq, {weight} AS w FROM (SELECT seq FROM {table} WHERE {column} = ?"
        f" AND published BETWEEN ? AND ? ORDER BY published {order} LIMIT {NEAREST_PER_KEY})"
        for order in ("ASC", "DESC")
    ]


@cache
def _find_sql(bands: int) -> str:
    """Candidates for one lookup: parameters per `_nearest`, the title key first, then each
    band key."""
    parts = _nearest("dedup_article", "tkey", _TITLE_WEIGHT)
    for _ in range(bands):
        parts += _nearest("dedup_band", "key", 1)
    ranked = (
        f"SELECT seq FROM ({' UNION ALL '.join(parts)}) GROUP BY seq"
        f" ORDER BY SUM(w) DESC, seq LIMIT {MAX_VERIFIED}"
    )
    return f"SELECT {_COLUMNS} FROM dedup_article WHERE seq IN ({ranked}) ORDER BY seq"


def _find_params(key: str | None, bands: Sequence[int], at: int, span: int) -> list[object]:
    params: list[object] = []
    for k in (key, *bands):
        params += [k, at, at + span, k, at - span, at - 1]
    return params


# Which of a batch's lookups have any stored row in a bucket of theirs within their window
# (`NearDupIndex.screening`): one row of parameters per lookup, (i, lo, hi, title key, band
# keys, NULL where a signature has none), each bucket an index seek.
_SCREEN_COLUMNS = 4 + BANDS
_SCREEN_CHUNK = 200  # lookups per statement: 2,400 parameters


@cache
def _screen_sql(count: int) -> str:
    bands = ", ".join(f"k{i}" for i in range(BANDS))
    row = f"({','.join('?' * _SCREEN_COLUMNS)})"
    return (
        f"WITH p (i, lo, hi, t, {bands}) AS (VALUES {', '.join([row] * count)})"
        " SELECT i FROM p WHERE EXISTS (SELECT 1 FROM dedup_article"
        "  WHERE tkey = t AND published BETWEEN lo AND hi)"
        f" OR EXISTS (SELECT 1 FROM dedup_band WHERE key IN ({bands})"
        "  AND published BETWEEN lo AND hi)"
    )


def _lookup(sig: Signature, at: int, span: int) -> tuple[object, ...]:
    """What identifies one `find` for `NearDupIndex.screening`."""
    return (sig.key, sig.bands, at, span)


def _buckets(sig: Signature) -> tuple[str | int, ...]:
    """The buckets a signature is stored in and looked up by: its title key (none when
    empty: `find` looks up NULL), then its band keys."""
    return (sig.key, *sig.bands) if sig.key else sig.bands


class NearDupIndex:
    """Near-duplicate lookup over stored articles. The caller owns the transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        # While `screening`: the lookups known to find nothing among the rows stored when
        # it began, and the buckets (title key or band key -> published) added since.
        self._quiet: set[tuple[object, ...]] | None = None
        self._added: dict[str | int, list[int]] = {}

    @contextmanager
    def screening(
        self, lookups: Sequence[tuple[Signature, datetime]], window: timedelta = DEFAULT_WINDOW
    ) -> Iterator[None]:
        """Inside, `find` for one of `lookups` (signature, published) answers None without
        its ranked query when none of its buckets holds a row within the window: one
        statement for the whole batch tells which (a cold ingest's lookups are ~94 % such,
        and the ranked query costs about three times a seek per bucket). Rows added inside
        are remembered, so a later lookup still finds an earlier one of the same batch.
        The caller holds the transaction throughout."""
        span = int(window.total_seconds())
        probes = {
            _lookup(sig, _epoch(published), span): (sig, _epoch(published))
            for sig, published in lookups
            if len(sig.bands) in (0, BANDS)
        }
        busy: set[tuple[object, ...]] = set()
        items = list(probes.items())
        for start in range(0, len(items), _SCREEN_CHUNK):
            chunk = items[start : start + _SCREEN_CHUNK]
            params: list[object] = []
            for i, (_, (sig, at)) in enumerate(chunk):
                bands = sig.bands or (None,) * BANDS
                params += [i, at - span, at + span, sig.key or None, *bands]
            rows = self._conn.execute(_screen_sql(len(chunk)), params)
            busy.update(chunk[r[0]][0] for r in rows)
        self._quiet, self._added = set(probes).difference(busy), {}
        try:
            yield
        finally:
            self._quiet, self._added = None, {}

    def _screened_out(self, sig: Signature, at: int, span: int) -> bool:
        """Whether `find` can answer None for this lookup without querying (`screening`)."""
        if self._quiet is None or _lookup(sig, at, span) not in self._quiet:
            return False
        for bucket in _buckets(sig):
            for published in self._added.get(bucket, ()):
                if at - span <= published <= at + span:
                    return False
        return True

    def add(
        self,
        article_id: str,
        cand: Candidate,
        duplicate_of: str | None = None,
        sig: Signature | None = None,
        *,
        new: bool = False,
    ) -> None:
        """Store (or refresh) an article's signature; a refresh keeps its aliases.

        ``duplicate_of``: the kept article ``find`` returned for it, so later copies still
        resolve to the kept one. A re-added id keeps its place in the stored order.
        ``sig``: ``signature(cand.title, cand.text)`` when the caller already has it.
        ``new``: the caller knows the id was never added, so there is nothing to refresh.
        """
        sig = sig or signature(cand.title, cand.text)
        published = _epoch(cand.published)
        values = (
            None if duplicate_of == article_id else duplicate_of,
            sig.title,
            sig.key,
            published,
            _to_signed(sig.fp),
            sig.shingles,
            _pack(sig.sketch, "I"),
            _pack(sig.bands, "q"),
            sig.body,
            sig.lead,
            sig.rest,
        )
        seq = None if new else self._drop_bands(article_id)
        if seq is None:
            cur = self._conn.execute(
                "INSERT INTO dedup_article (dup_of, title, tkey, published, fp, shingles, sketch,"
                " bands, body, lead, rest, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, article_id),
            )
            seq = cur.lastrowid
        else:
            self._conn.execute(
                "UPDATE dedup_article SET dup_of = ?, title = ?, tkey = ?, published = ?, fp = ?,"
                " shingles = ?, sketch = ?, bands = ?, body = ?, lead = ?, rest = ? WHERE seq = ?",
                (*values, seq),
            )
        self._conn.executemany(
            "INSERT OR IGNORE INTO dedup_band (key, published, seq) VALUES (?, ?, ?)",
            [(key, published, seq) for key in sig.bands],
        )
        if self._quiet is not None:
            for bucket in _buckets(sig):
                self._added.setdefault(bucket, []).append(published)

    def find(
        self, cand: Candidate, window: timedelta = DEFAULT_WINDOW, sig: Signature | None = None
    ) -> str | None:
        """The kept, earliest-stored article that ``cand`` duplicates, or None."""
        sig = sig or signature(cand.title, cand.text)
        at = _epoch(cand.published)
        span = int(window.total_seconds())
        if self._screened_out(sig, at, span):
            return None
        params = _find_params(sig.key or None, sig.bands, at, span)
        rows = self._conn.execute(_find_sql(len(sig.bands)), params)
        for row in rows:
            art_id, dup_of, title, tkey, fp, shingles, sketch, body, lead, rest, aliases = row[1:]
            stored = Signature(
                title,
                tkey,
                _to_unsigned(fp),
                shingles,
                _unpack(sketch, "I"),
                body=body,
                lead=lead,
                rest=rest,
                aliases=_unpack(aliases, "q"),
            )
            if same_signature(sig, stored):
                return str(dup_of or art_id)
        return None

    def add_alias(self, article_id: str, title: str) -> None:
        """Remember another headline the article has been merged under (see `aliases`)."""
        row = self._conn.execute(
            "SELECT aliases FROM dedup_article WHERE id = ?", (article_id,)
        ).fetchone()
        if row is None:
            return
        known = _unpack(row[0], "q")
        alias = headline_hash(title)
        if alias not in known:
            self._conn.execute(
                "UPDATE dedup_article SET aliases = ? WHERE id = ?",
                (_pack((*known, alias), "q"), article_id),
            )

    def remove(self, article_id: str) -> None:
        """Forget an article; if it was kept, its earliest copy becomes the kept one."""
        row = self._conn.execute(
            "SELECT dup_of FROM dedup_article WHERE id = ?", (article_id,)
        ).fetchone()
        if row is None:
            return
        self._drop_bands(article_id)
        self._conn.execute("DELETE FROM dedup_article WHERE id = ?", (article_id,))
        if row[0] is None:
            self._promote_heir(article_id)

    def _drop_bands(self, article_id: str) -> int | None:
        """Delete an article's LSH rows (by primary key, no scan); its seq if it exists."""
        row = self._conn.execute(
            "SELECT seq, published, bands FROM dedup_article WHERE id = ?", (article_id,)
        ).fetchone()
        if row is None:
            return None
        seq, published, bands = row
        self._conn.executemany(
            "DELETE FROM dedup_band WHERE key = ? AND published = ? AND seq = ?",
            [(key, published, seq) for key in _unpack(bands, "q")],
        )
        return int(seq)

    def _promote_heir(self, removed_id: str) -> None:
        heir = self._conn.execute(
            "SELECT id FROM dedup_article WHERE dup_of = ? ORDER BY seq LIMIT 1", (removed_id,)
        ).fetchone()
        if heir is None:
            return
        self._conn.execute("UPDATE dedup_article SET dup_of = NULL WHERE id = ?", (heir[0],))
        self._conn.execute(
            "UPDATE dedup_article SET dup_of = ? WHERE dup_of = ?", (heir[0], removed_id)
        )
