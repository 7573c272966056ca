"""Fixtures shared by the test modules: pytest finds them here, no test module imports
another. Helper modules (faultserver.py, corpus_posts.py, published.py, processes.py,
asgiserver.py, sina_site.py) hold plain code; fixtures live here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aggregator import config
from aggregator.models import Settings
from aggregator.store import Store
from tests.faultserver import FaultServer
from tests.published import Publisher, published


@pytest.fixture(autouse=True)
def nothing_rendered_kept() -> None:
    """Each test renders its feed entries and list items itself: what the outputs keep per
    process would otherwise carry another test's bytes (or, under mutmut, the unmutated
    code's)."""
    from aggregator.outputs import formats, html

    for kept in (formats.ENTRIES, formats.FIELDS, html.LIST_ITEMS):
        kept.clear()


@pytest.fixture
def publisher(tmp_path: Path) -> Iterator[Callable[..., Publisher]]:
    """`publisher(n=0, root=None, **output_settings)`: a Publisher holding articles 0..n-1."""
    opened: list[Store] = []

    def make(n: int = 0, root: Path | None = None, **output: object) -> Publisher:
        p = published(root or tmp_path, n, **output)
        opened.append(p.store)
        return p

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def server() -> Iterator[FaultServer]:
    """A real HTTP server on 127.0.0.1 whose routes each test sets (tests/faultserver.py)."""
    with FaultServer() as s:
        yield s


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A loaded config with one placeholder source, its database and outputs in tmp_path,
    fetches bounded to 2 s (tests add their own sources with `dataclasses.replace`)."""
    cfg = tmp_path / "a.toml"
    cfg.write_text(
        '[storage]\npath = "a.db"\n[output]\ndir = "out"\nbase_url = "http://127.0.0.1/"\n'
        'title = "t"\n[server]\nport = 8080\n[fetch]\ndeadline = "2s"\n'
        '[[sources]]\nname = "x"\nurl = "https://example.com/"\n',
        encoding="utf-8",
    )
    return config.load(cfg)
