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


# --- Junk in article bodies, as data for clean.py -------------------------------
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

# More junk inside #artibody: the ad slot, live-quote placeholders (empty spans
# whose id starts with quote_; the stock link next to them keeps its text), and blocks that
# open with a topic link or a disclaimer.
AD_CLASSES: frozenset[str] = frozenset({"sinaads"})
JUNK_ID_PREFIXES: tuple[str, ...] = ("quote_",)
JUNK_BLOCK_PREFIXES: tuple[str, ...] = ("相关专题", "免责声明")


# --- Native endpoints -----------------------------------------------------------

# Sina's own pages send this Referer; its list and image hosts expect one of theirs.
REFERER = "https://finance.sina.com.cn/"

# Roll list: /api/roll/get?pageid=P&lid=L&num=N&page=K (JSONP with callback=).
ROLL_MAX_NUM = 50  # Sina caps num at 50
ROLL_OK_CODE = 0
# docid 'comos:nitmeav9622448' ↔ page doc-initmeav9622448.shtml: the id after the prefix.
ROLL_DOCID = re.compile(r"^(?:[a-z]+:)?([0-9a-z]{6,})$", re.IGNORECASE)


def roll_docid(value: str) -> str | None:
    """The document id of a roll item's `docid` field ('comos:xxx' → 'xxx'), or None."""
    m = ROLL_DOCID.match(value.strip())
    return m.group(1).lower() if m else None


# The known roll lists: (pageid, lid, channel name as Sina titles it).
ROLL_LISTS: tuple[tuple[int, int, str], ...] = (
    (155, 1686, "国内滚动"),
    (155, 1687, "宏观经济"),
    (155, 1688, "地方经济"),
    (155, 1689, "部委动态"),
    (155, 1690, "金融新闻"),
    (155, 3231, "今日财经TOP10"),
    (384, 2519, "财经"),
    (384, 2671, "股市"),
    (384, 2672, "美股"),
    (384, 2673, "中国概念股"),
    (384, 2674, "港股"),
    (384, 2675, "研究报告"),
    (384, 2676, "全球市场"),
    (384, 2487, "外汇"),
)
ROLL_ENDPOINT = "https://feed.mix.sina.com.cn/api/roll/get"
ZHIBO_ENDPOINT = "https://zhibo.sina.com.cn/api/zhibo/feed"

# Article page: the body is #artibody between these comments; older pages use #article.
PAGE_BODY_BEGIN = "原始正文begin"
PAGE_BODY_END = "原始正文end"
PAGE_BODY_IDS: tuple[str, ...] = ("artibody", "article")
PAGE_TITLE_XPATH = "//h1[contains(concat(' ', normalize-space(@class), ' '), ' main-title ')]"
PAGE_OG_TITLE_XPATH = "//meta[@property='og:title']/@content"
PAGE_PUBLISHED_XPATH = "//meta[@property='article:published_time']/@content"
PAGE_SOURCE_XPATH = (
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' date-source ')]"
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' source ')]"
)

# 7×24 flashes: /api/zhibo/feed?zhibo_id=152&page=1&page_size=20&…
ZHIBO_OK_CODE = 0
ZHIBO_PAGE_SIZE = 20
# A flash without any URL of its own links here (stable: the flash id selects it).
ZHIBO_FLASH_URL = "https://finance.sina.com.cn/7x24/?id={id}"
ZHIBO_TITLE_MAX = 40
# A stock's quote page, the scheme of its tag in the feeds.
STOCK_SCHEME = "https://finance.sina.com.cn/realstock/company/"

# An article page's path: …/doc-i<id>.shtml (PC) or …/detail-i<id>.d.html (mobile). Items
# pointing anywhere else (topics, videos, live rooms) are not articles.
ARTICLE_PATH = re.compile(r"/(?:doc|detail)-i([0-9a-z]{6,})(?:\.d)?\.s?html$", re.IGNORECASE)


def article_path_id(path: str) -> str | None:
    """The document id in an article page's URL path, lowercase, or None."""
    m = ARTICLE_PATH.search(path)
    return m.group(1).lower() if m else None
