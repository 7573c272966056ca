"""Sina's native shapes served by a real local HTTP server, for the tests.

Lists and pages are built from the samples in tests/data/sina/ (real corpus articles in the
envelopes of real captures): roll list items keep every field of the sample, article pages
the sample's template with its junk. `SinaSite` puts them on a FaultServer.
"""

from __future__ import annotations

import copy
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aggregator.kinds.sina_roll import RollKind
from tests.faultserver import Behaviour, FaultServer, Static

DATA = Path(__file__).parent / "data" / "sina"
ROLL_SAMPLE: dict[str, Any] = json.loads(
    (DATA / "roll-pageid155-lid1686-page1.json").read_text(encoding="utf-8")
)
ZHIBO_SAMPLE: dict[str, Any] = json.loads(
    (DATA / "zhibo-152-page1.json").read_text(encoding="utf-8")
)
SAMPLE_PAGES = {p.stem.removeprefix("doc-i"): p.read_bytes() for p in DATA.glob("doc-i*.shtml")}
JSON = {"Content-Type": "application/json; charset=utf-8"}
HTML = {"Content-Type": "text/html"}  # Sina's pages: the charset is in the page's <meta>
CTIME0 = 1796000000  # 2026-11-30


def roll_item(
    n: int,
    base: str,
    *,
    title: str | None = None,
    mtime: int | None = None,
    media: str = "新浪财经",
    lids: str = "1686",
    ints: bool = False,
) -> dict[str, Any]:
    """A list item shaped like the sample's first one, for synthetic article n."""
    item = copy.deepcopy(ROLL_SAMPLE["result"]["data"][0])
    docid = f"synth{n % 10_000_000:07d}"  # newer items have negative n
    ctime = CTIME0 - n * 60  # newer first when n grows smaller
    url = f"{base}/china/gncj/2026-11-30/doc-i{docid}.shtml"
    item.update(
        docid=f"comos:{docid}",
        url=url,
        urls=json.dumps([url]),
        wapurl=f"{base}/m/2026-11-30/detail-i{docid}.d.html",
        title=title or f"第{docid}号合成新闻：国内经济稳步恢复",
        intro=f"合成新闻{n}的导语...",
        ctime=ctime if ints else str(ctime),
        mtime=(mtime or ctime + 5) if ints else str(mtime or ctime + 5),
        intime=str(ctime + 6),
        media_name=media,
        lids=lids,
        img=[],
        images=[],
    )
    return item


def docid_of(item: dict[str, Any]) -> str:
    return str(item["docid"]).split(":")[-1]


def roll_body(
    items: Sequence[dict[str, Any]], *, code: int = 0, callback: str | None = None
) -> bytes:
    result = copy.deepcopy(ROLL_SAMPLE)
    result["result"]["data"] = list(items)
    result["result"]["status"] = {"code": code, "msg": "succ" if code == 0 else "参数错误"}
    text = json.dumps(result, ensure_ascii=False)
    if callback:
        text = f"try{{{callback}({text});}}catch(e){{}};"
    return text.encode()


PAGE = """<!DOCTYPE html>
<html>
<head>
    <meta charset="{charset}"/>
<title>{title}_新浪财经_新浪网</title>
<meta property="og:title" content="{title}" />
<meta property="article:published_time" content="{published}" />
<script src="//n.sinaimg.cn/finance/page/v2017/js/sinaads.js"></script>
</head>
<body>
<div class="top-nav"><a href="https://finance.sina.com.cn/">新浪财经</a> 导航栏</div>
<div class="main-content w1240">
    <h1 class="main-title">{title}</h1>
    <div class="top-bar-wrap"><div class="top-bar"><div class="date-source">
    <span class="date">2026年11月30日 10:00</span>
    <a class="source ent-source" href="https://example.com/">{outlet}</a></div></div></div>
    <div class="article-content clearfix"><div class="article-content-left">
{begin}
<div class="article" id="{body_id}">
<p><a href="https://finance.sina.com.cn/zt_d/topic/">相关专题：合成专题</a></p>
{paragraphs}
<p>　　提及的股票<a href="{stock}">贵州茅台</a><span id="quote_sh600519"></span>继续上涨。</p>
<style>.appendQr_wrap{{border:1px solid #E6E6E6;padding:8px;}}</style>
<div class="clearfix appendQr_wrap">
<div class="appendQr_normal"><img src="https://n.sinaimg.cn/finance/cece9e13/20200514/343233024.png"></div>
<div class="appendQr_normal_txt">海量资讯、精准解读，尽在新浪财经APP</div>
</div>
<p>免责声明：本文仅供参考，不构成投资建议。</p>
<ins class="sinaads" data-ad-pdps="PDPS000000056054"></ins>
<p class="article-editor">责任编辑：王编辑 </p>
</div>
{end}
<div class="keywords"><label>文章关键词：</label><a href="https://tags.finance.sina.com.cn/x">页面外壳</a></div>
    </div></div>
</div>
<div class="page-footer">新浪公司 版权所有 页脚</div>
</body>
</html>
"""


def article_page(
    title: str,
    paragraphs: Sequence[str],
    *,
    outlet: str = "新浪财经",
    published: str = "2026-11-30T10:00:00+08:00",
    charset: str = "utf-8",
    markers: bool = True,
    body_id: str = "artibody",
    image: str | None = None,
) -> bytes:
    body = "\n".join(f"<p>　　{html.escape(p)}</p>" for p in paragraphs)
    if image:
        figure = f'<div class="img_wrapper"><img src="{image}"><span class="img_descr"></span>'
        body = f"{figure}</div>\n{body}"
    text = PAGE.format(
        charset=charset,
        stock="https://finance.sina.com.cn/realstock/company/sh600519/nc.shtml",
        title=html.escape(title),
        published=published,
        outlet=html.escape(outlet),
        paragraphs=body,
        body_id=body_id,
        begin="<!-- 原始正文begin -->" if markers else "",
        end="<!-- 原始正文end -->" if markers else "",
    )
    return text.encode("gb18030" if charset.lower() in ("gbk", "gb2312", "gb18030") else "utf-8")


def page_for(item: dict[str, Any], **kw: Any) -> bytes:
    return article_page(
        str(item["title"]), [f"合成新闻{docid_of(item)}的第一段全文。", "第二段全文。"], **kw
    )


class SinaSite:
    """Roll lists and article pages on a real local server, by Sina's URL forms."""

    def __init__(self, server: FaultServer) -> None:
        self.server = server
        self.base = server.url("")

    def list_url(self, lid: int, extra: str = "") -> str:
        return self.server.url(f"/api/roll/get?pageid=155&lid={lid}{extra}")

    def set_list(
        self,
        lid: int,
        items: Sequence[dict[str, Any]],
        *,
        extra: str = "",
        per_page: int = 50,
        pages: int | None = None,
    ) -> None:
        """Serve `items` as list `lid`, `per_page` a page (pages 1…`pages`)."""
        count = pages or max(1, -(-len(items) // per_page))
        for n in range(1, count + 2):  # one more: an empty page past the end
            chunk = items[(n - 1) * per_page : n * per_page]
            self.set_list_page(lid, n, Static(roll_body(chunk), headers=JSON), extra=extra)

    def set_list_page(self, lid: int, n: int, behaviour: Behaviour, *, extra: str = "") -> None:
        url = RollKind().list_url(self.list_url(lid, extra), n)
        assert url is not None
        self.server.add(url.removeprefix(self.base), behaviour)

    def list_path(self, lid: int, n: int, extra: str = "") -> str:
        url = RollKind().list_url(self.list_url(lid, extra), n)
        assert url is not None
        return url.removeprefix(self.base)

    def set_page(self, item: dict[str, Any], behaviour: Behaviour | bytes | None = None) -> str:
        path = str(item["url"]).removeprefix(self.base)
        if behaviour is None:
            behaviour = page_for(item)
        if isinstance(behaviour, bytes):
            behaviour = Static(behaviour, headers=HTML)
        self.server.add(path, behaviour)
        return path

    def page_requests(self) -> list[str]:
        return [s.path for s in self.server.requests if "/doc-i" in s.path]

    def list_requests(self) -> list[str]:
        return [s.path for s in self.server.requests if s.path.startswith("/api/")]
