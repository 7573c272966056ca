"""Identity of an article: canonical URLs, identity keys, emitted ids.

Known answers only: each URL form that must be one article maps to one expected key, and the
emitted ids are pinned, because they may never change once given.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.identity import (
    article_id,
    canonical_url,
    identity_keys,
    title_date_hash,
)

DOC = "https://finance.sina.com.cn/china/2022-08-09/doc-imizmscv5449371.shtml"
DETAIL = "http://finance.sina.cn/2022-08-09/detail-imizmscv5449371.d.html?from=wap"
STCN = "https://www.stcn.com/a/1.html?utm_source=x#top"


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        # https, lowercase host, no fragment; the path keeps its case.
        (
            "http://Finance.Sina.COM.cn/China/A.shtml#frag",
            "https://finance.sina.com.cn/China/A.shtml",
        ),
        ("HTTPS://X.EXAMPLE", "https://x.example/"),
        ("  https://x.example/p  ", "https://x.example/p"),
        # Default ports go, others stay.
        ("http://x.example:80/p", "https://x.example/p"),
        ("https://x.example:443/p", "https://x.example/p"),
        ("https://x.example:8443/p", "https://x.example:8443/p"),
        ("http://x.example:8080/p", "https://x.example:8080/p"),
        # A port is the default of its own scheme only: https on 80, http on 443 stay.
        ("https://x.example:80/p", "https://x.example:80/p"),
        ("http://x.example:443/p", "https://x.example:443/p"),
        ("HTTP://x.example:80/p", "https://x.example/p"),
        # Tracking parameters go, whatever their case; the rest is sorted.
        (
            "https://www.stcn.com/a/1.html?utm_source=x&utm_medium=y#top",
            "https://www.stcn.com/a/1.html",
        ),
        ("https://x.example/p?UTM_Campaign=z&id=7", "https://x.example/p?id=7"),
        ("https://x.example/p?From=wap&id=7", "https://x.example/p?id=7"),
        ("https://x.example/p?b=2&a=1", "https://x.example/p?a=1&b=2"),
        ("https://x.example/p?a=3&b=0&a=1", "https://x.example/p?a=1&a=3&b=0"),
        ("https://x.example/p?q=&id=7", "https://x.example/p?id=7&q="),
        ("https://x.example/p?utm=1", "https://x.example/p?utm=1"),  # not a utm_ parameter
        ("https://x.example/p?q=%E4%B8%AD+%2B", "https://x.example/p?q=%E4%B8%AD+%2B"),
        # Credentials never become part of an identity (nor get published through it).
        ("https://user:secret@x.example/p", "https://x.example/p"),
        # Sina's two URL forms stay two URLs: the document id is what joins them.
        (DOC + "?from=wap&spm=1", DOC),
        (DETAIL, "https://finance.sina.cn/2022-08-09/detail-imizmscv5449371.d.html"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


@pytest.mark.parametrize(
    "param",
    [
        "from",
        "spm",
        "spm_id_from",
        "share_token",
        "share_from",
        "fromsource",
        "wm",
        "vt",
        "cre",
        "mod",
        "loc",
        "r",
        "rfunc",
        "tj",
        "tr",
        "sudaref",
        "retcode",
        "fbclid",
        "gclid",
        "yclid",
        "mc_cid",
        "mc_eid",
        "ref",
        "referer",
        "utm_source",
        "utm_whatever",
    ],
)
def test_tracking_parameters_do_not_make_a_second_article(param: str) -> None:
    assert canonical_url(f"https://x.example/a.html?{param}=1&id=7") == (
        "https://x.example/a.html?id=7"
    )


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "ftp://x.example/a",
        "javascript:alert(1)",
        "mailto:a@x.example",
        "tag:sina.com.cn,2022:abc",
        "/relative/path.html",
        "https:///no-host",
        "https://x.example:99999/",
        "http://[::1",
    ],
)
def test_not_a_web_url_has_no_canonical_form(url: str) -> None:
    assert canonical_url(url) is None


@pytest.mark.parametrize(
    ("link", "guid", "expected"),
    [
        # Most feeds repeat the link as the guid.
        (DOC, DOC, ("sina:mizmscv5449371", (f"url:{DOC}", f"guid:{DOC}"))),
        (
            DETAIL,
            None,
            (
                "sina:mizmscv5449371",
                ("url:https://finance.sina.cn/2022-08-09/detail-imizmscv5449371.d.html",),
            ),
        ),
        # The two Sina forms of one article share their primary key.
        (
            DOC,
            DETAIL,
            (
                "sina:mizmscv5449371",
                (
                    f"url:{DOC}",
                    "url:https://finance.sina.cn/2022-08-09/detail-imizmscv5449371.d.html",
                    f"guid:{DETAIL}",
                ),
            ),
        ),
        (STCN, STCN, ("url:https://www.stcn.com/a/1.html", (f"guid:{STCN}",))),
        (
            STCN,
            DOC,
            (
                "sina:mizmscv5449371",
                ("url:https://www.stcn.com/a/1.html", f"url:{DOC}", f"guid:{DOC}"),
            ),
        ),
        (None, "  tag:sina.com.cn,2022:abc ", ("guid:tag:sina.com.cn,2022:abc", ())),
        (None, None, ("hash:4425ec35ca5f4cd03aff3a66a3cf52ee498bffbe", ())),
        ("tag:not-a-url", None, ("hash:4425ec35ca5f4cd03aff3a66a3cf52ee498bffbe", ())),
        # A blank guid is no guid: "guid:" would be one key shared by unrelated articles.
        (None, "   ", ("hash:4425ec35ca5f4cd03aff3a66a3cf52ee498bffbe", ())),
    ],
)
def test_identity_keys(
    link: str | None, guid: str | None, expected: tuple[str, tuple[str, ...]]
) -> None:
    assert identity_keys(link, guid, "央行开展逆回购", "") == expected


_URLS = st.sampled_from(
    [
        DOC,
        DETAIL,
        STCN,
        "https://x.example/p?b=2&a=1",
        "http://X.example:80/p#f",
    ]
)


@settings(deadline=None)
@given(_URLS | st.text(max_size=40).filter(str.strip))
def test_repeating_the_link_as_guid_adds_only_the_guid_key(link: str) -> None:
    primary, alternates = identity_keys(link, None, "t", "d")
    with_guid = identity_keys(link, link, "t", "d")
    if primary.startswith("hash:"):  # no key from the link: the guid is the identity
        assert with_guid == (f"guid:{link.strip()}", ())
    else:
        assert with_guid == (primary, (*alternates, f"guid:{link.strip()}"))


def test_title_date_hash_is_stable() -> None:
    assert title_date_hash("央行开展逆回购", "2024-03-05T02:00:00+00:00") == (
        "hash:acf0a811516da060ea0a141280c8fa47ccfe2c20"
    )
    assert title_date_hash("央行开展逆回购", "") != title_date_hash("央行开展逆回购", "x")
    # The separator keeps ("ab", "c") and ("a", "bc") apart.
    assert title_date_hash("ab", "c") != title_date_hash("a", "bc")


def test_emitted_ids_never_change() -> None:
    assert article_id("sina:mizmscv5449371") == "urn:uuid:d6ad82e1-72f0-5c5a-a3bc-5778872d5bdb"
    assert article_id("url:https://www.stcn.com/a/1.html") == (
        "urn:uuid:faaa30a1-ece0-5222-aebf-353c403d0fbf"
    )


@given(st.text(max_size=300))
def test_an_id_is_the_uuid5_of_its_key(key: str) -> None:
    """`article_id` spells out uuid5 (version and variant bits set by hand): the standard
    library's answer, for any key."""
    import uuid

    from aggregator.identity import _ID_NAMESPACE

    assert article_id(key) == f"urn:uuid:{uuid.uuid5(_ID_NAMESPACE, key)}"
