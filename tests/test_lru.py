"""The bounded map that publishes keep what they rendered or read in (aggregator/lru.py)."""

from __future__ import annotations

import threading

from hypothesis import given
from hypothesis import strategies as st

from aggregator.lru import LRU

_many = st.lists(st.integers(0, 9), max_size=6)
_one = st.lists(st.integers(0, 9), min_size=1, max_size=1)
_ops = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["get_many", "put_many"]), _many),
        st.tuples(st.sampled_from(["get", "put"]), _one),
        st.tuples(st.just("size"), st.lists(st.integers(0, 5), min_size=1, max_size=1)),
    ),
    max_size=40,
)


@given(st.integers(0, 5), _ops)
def test_it_keeps_what_a_list_in_order_of_use_keeps(
    size: int, ops: list[tuple[str, list[int]]]
) -> None:
    """Against the plainest model: keys in order of use, the first ones dropped past size."""
    lru: LRU[int, str] = LRU(size)
    used: list[int] = []
    values: dict[int, str] = {}
    for n, (op, keys) in enumerate(ops):
        if op == "size":
            lru.size = size = keys[0]  # applies at the next store
            continue
        if op.startswith("get"):
            want = [values[k] if k in used else None for k in keys]
            got = lru.get_many(keys) if op == "get_many" else [lru.get(keys[0])]
            assert got == want
            for k in keys:
                if k in used:
                    used.remove(k)
                    used.append(k)
        else:
            fresh = {k: f"{k}@{n}" for k in keys}
            if op == "put_many":
                lru.put_many(fresh)
            else:
                lru.put(keys[0], fresh[keys[0]])
            for k in fresh:
                if k in used:
                    used.remove(k)
                used.append(k)
            values.update(fresh)
            del used[: max(0, len(used) - size)]
        assert lru.keys_by_use() == used
        assert len(lru) == len(used)
    lru.clear()
    assert lru.keys_by_use() == [] and lru.get_many([1, 2]) == [None, None]


def test_threads_storing_and_looking_up_at_once_keep_it_within_size() -> None:
    lru: LRU[int, int] = LRU(50)
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(2000):
                keys = [(offset + i + j) % 120 for j in range(8)]
                got = lru.get_many(keys)
                assert all(v is None or v == k for k, v in zip(keys, got, strict=True))
                lru.put_many({k: k for k, v in zip(keys, got, strict=True) if v is None})
        except BaseException as e:  # surfaced below: a thread's failure fails the test
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n * 37,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(lru) == 50 and len(set(lru.keys_by_use())) == 50
