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


# --- Junk in article bodies (SPEC §4), as data for clean.py -------------------------------
# Rules key on structure (classes, comment markers, one image asset), never on an article's
# wording, so they hold for every Sina article and are harmless on other sites.

# Elements removed with their content: the app QR block, the 开户 (brokerage account) ad,
# video placeholders and players.
JUNK_CLASSES: frozenset[str] = frozenset(
    {"appendQr_wrap", "app-kaihu-qr", "video-2017", "artical-player-wrap"}
)

# CMS comment markers that bracket junk. Everything between the first and the last sibling
# comment holding the same marker goes: the QR block repeats its '文末二维码 start' marker
# four times around one block, so markers cannot be paired one by one.
JUNK_COMMENT_SPANS: tuple[str, ...] = (
    "文末二维码",
    "开户二维码",
    "总声明",
    "正文下iframe",
    "video-list",
    "编辑姓名及工作代码",
)

# The editor credit '<p class="article-editor">责任编辑：…</p>': metadata, not body.
EDITOR_CLASSES: frozenset[str] = frozenset({"article-editor"})
EDITOR_LABEL = re.compile(r"^\s*(?:责任编辑|编辑)\s*[:：]\s*")

# <div class="img_wrapper"><img><span class="img_descr">caption</span></div>: a figure.
FIGURE_CLASSES: frozenset[str] = frozenset({"img_wrapper"})
CAPTION_CLASSES: frozenset[str] = frozenset({"img_descr"})

# <font cms-style="font-L strong-Bold">: the CMS's way of writing bold text.
BOLD_MARKERS: tuple[tuple[str, str], ...] = (("cms-style", "strong-Bold"),)

# Images that are never article content: the Sina Finance app QR code appended to every page.
JUNK_IMAGES: tuple[re.Pattern[str], ...] = (
    re.compile(r"^https?://n\.sinaimg\.cn/finance/cece9e13/20200514/343233024\.png", re.I),
)
