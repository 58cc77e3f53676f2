"""Unit tests of the portal's Redis cache backend: one redis client per pool, Django's semantics."""

from __future__ import annotations

from common.redis_cache import PooledRedisCache, PooledRedisCacheClient
from django.core.cache.backends.redis import RedisCacheClient


def test_one_client_object_per_pool_is_reused() -> None:
    backend = PooledRedisCache("redis://127.0.0.1:1/0", {})  # no command is sent: no server needed
    client = backend._cache
    assert isinstance(client, PooledRedisCacheClient)
    first = client.get_client("k")
    assert client.get_client("other") is first
    assert client.get_client("k", write=True) is first  # one server: reads and writes share it
    # Django's own client builds a new one per call; this is what the subclass avoids.
    plain = RedisCacheClient(["redis://127.0.0.1:1/0"])
    assert plain.get_client("k") is not plain.get_client("k")


def test_reads_spread_over_replicas_as_django_does() -> None:
    backend = PooledRedisCache("redis://127.0.0.1:1/0,redis://127.0.0.1:2/0", {})
    client = backend._cache
    writer = client.get_client("k", write=True)
    reader = client.get_client("k")
    assert writer is not reader
    assert writer.connection_pool.connection_kwargs["port"] == 1
    assert reader.connection_pool.connection_kwargs["port"] == 2
