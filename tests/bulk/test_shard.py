"""Shards never share a politeness key; each holds about the target number of domains."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mxtls.bulk.input import Domain
from mxtls.bulk.shard import KeyGroups, PlannedDomain, pack_shards


def planned(keys_per_domain: list[list[str]]) -> list[PlannedDomain]:
    return [
        PlannedDomain(Domain(name=f"d{i}.example", text=f"d{i}.example", line=i), tuple(keys))
        for i, keys in enumerate(keys_per_domain)
    ]


def test_domains_linked_through_shared_addresses_stay_together() -> None:
    items = planned([["a"], ["b"], ["a", "c"], ["c"], ["d"], [], ["b"]])
    shards = pack_shards(items, target=2)
    where = {d.name: i for i, shard in enumerate(shards) for d in shard}
    assert where["d0.example"] == where["d2.example"] == where["d3.example"]
    assert where["d1.example"] == where["d6.example"]
    assert sorted(d.name for shard in shards for d in shard) == sorted(i.domain.name for i in items)


def test_union_find_merges_chains() -> None:
    groups = KeyGroups()
    groups.union(["a", "b"])
    groups.union(["c", "d"])
    assert groups.find("a") != groups.find("c")
    groups.union(["b", "c"])
    assert groups.find("a") == groups.find("d")


@given(
    st.lists(st.lists(st.sampled_from("abcdefghij"), max_size=3), max_size=60),
    st.integers(min_value=1, max_value=12),
)
def test_no_key_in_two_shards(keys: list[list[str]], target: int) -> None:
    items = planned(keys)
    by_name = {i.domain.name: i.keys for i in items}
    shards = pack_shards(items, target)
    owner: dict[str, int] = {}
    for index, shard in enumerate(shards):
        assert [d.line for d in shard] == sorted(d.line for d in shard)  # input order kept
        for domain in shard:
            for key in by_name[domain.name]:
                assert owner.setdefault(key, index) == index
    assert sum(len(s) for s in shards) == len(items)
