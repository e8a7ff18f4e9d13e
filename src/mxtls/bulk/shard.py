"""Sharding by MX address, so that politeness needs no coordination between workers.

Each Dask worker runs its own runtime, and so its own per-address limiter.
Two workers probing the same provider at once would each allow
``--max-conns`` connections: the provider would see twice the limit.  The
plan therefore resolves every domain's MX hosts and their addresses first
(:func:`plan_domains`), maps each address to its politeness key (the address,
or its network under ``--network-prefix``), and groups domains that share a
key, directly or through other domains (:class:`KeyGroups`, a union-find):
a group is never split across shards, so one key is only ever probed by one
worker at a time (:func:`pack_shards`).

A provider hosting a million domains makes one large group, and so one large
shard: politeness costs parallelism there, by design.  Shards are otherwise
filled to about ``target`` domains, the size of one part file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from mxtls.bulk.input import Domain
from mxtls.engine.plan import initial_hosts, resolve_host
from mxtls.engine.runtime import Runtime


@dataclass(frozen=True, slots=True)
class PlannedDomain:
    """A domain and the politeness keys of the MX addresses it will be probed at."""

    domain: Domain
    keys: tuple[str, ...]


async def plan_domains(
    domains: Sequence[Domain], runtime: Runtime, *, concurrency: int
) -> list[PlannedDomain]:
    """Resolve each domain's MX hosts and addresses (no connection is made).

    Excluded hosts and addresses (the runtime's opt-out list) get no key:
    nobody will connect to them.  A failed lookup gives no key (the domain
    may go to any shard).
    """
    config = runtime.config
    gate = asyncio.Semaphore(concurrency)

    async def one(domain: Domain) -> PlannedDomain:
        async with gate:
            resolver = runtime.resolver()
            mx = await resolver.query(domain.name, "MX")
            _null, planned = initial_hosts(domain.name, mx, config)
            hosts = [h if h.addresses else await resolve_host(h, resolver, config) for h in planned]
        exclude = config.exclude
        keys: set[str] = set()
        for host in hosts:
            if exclude and exclude.host(host.name):
                continue
            for ip in host.addresses:
                if not (exclude and exclude.address(ip)):
                    keys.add(runtime.limiter.key(ip))
        return PlannedDomain(domain, tuple(sorted(keys)))

    return list(await asyncio.gather(*(one(d) for d in domains)))


@dataclass
class KeyGroups:
    """Union-find over politeness keys; each domain joins the group of its keys."""

    parent: dict[str, str] = field(default_factory=dict)

    def find(self, key: str) -> str:
        """The representative of ``key``'s group (with path halving)."""
        parent = self.parent
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def union(self, keys: Iterable[str]) -> str | None:
        """Put ``keys`` in one group; returns its representative (None: no key)."""
        root: str | None = None
        for key in keys:
            other = self.find(key)
            if root is None:
                root = other
            elif other != root:
                self.parent[other] = root
        return root


def pack_shards(planned: Sequence[PlannedDomain], target: int) -> list[list[Domain]]:
    """Shards of about ``target`` domains; domains sharing a key stay in one shard.

    Groups go largest first into the current shard, which is closed once it
    holds ``target`` domains; domains without any key fill in anywhere.
    Within a shard, domains keep their input order.
    """
    groups = KeyGroups()
    for item in planned:
        groups.union(item.keys)
    members: dict[str, list[int]] = {}
    loose: list[int] = []
    for index, item in enumerate(planned):
        if item.keys:
            members.setdefault(groups.find(item.keys[0]), []).append(index)
        else:
            loose.append(index)
    units = sorted(members.values(), key=len, reverse=True) + [[i] for i in loose]
    shards: list[list[int]] = []
    current: list[int] = []
    for unit in units:
        if current and len(current) + len(unit) > target:
            shards.append(current)
            current = []
        current.extend(unit)
    if current:
        shards.append(current)
    return [[planned[i].domain for i in sorted(shard)] for shard in shards]
