"""Where Hypothesis keeps its example database: on this machine, or in Redis shared by every machine.

``DELTACHECK_REDIS=redis://host:port[/db]`` points every worker of every
machine at one ``hypothesis.extra.redis.RedisExampleDatabase`` (extra
``campaign``: ``pip install "deltacheck[campaign]"``), so a failure one
process finds is replayed first by all the others.  ``tests/conftest.py``
wraps its local database with :func:`example_database`.
"""
from __future__ import annotations

import os

__all__ = ["REDIS_ENV", "example_database"]

#: The environment variable naming the shared Redis server.
REDIS_ENV = "DELTACHECK_REDIS"
#: Keys in Redis start with this, so one server can hold other projects' data too.
KEY_PREFIX = b"deltacheck:hypothesis:"


def example_database(local=None):
    """``local`` (a Hypothesis database or None), or -- with ``$DELTACHECK_REDIS`` set -- the Redis database.

    With both, a ``MultiplexedDatabase`` of the two: failures are saved to both and replayed from either,
    so the local copy keeps working offline.  ValueError in one line when Redis cannot be used.
    """
    url = os.environ.get(REDIS_ENV, "").strip()
    if not url:
        return local
    try:
        import redis
        from hypothesis.extra.redis import RedisExampleDatabase
    except ImportError:
        raise ValueError(f"{REDIS_ENV}={url} needs the redis client: pip install \"deltacheck[campaign]\"") from None
    try:
        client = redis.Redis.from_url(url)
        client.ping()
    except ValueError as exc:  # a malformed URL
        raise ValueError(f"{REDIS_ENV}={url}: {exc} (expected redis://host:port)") from None
    except redis.RedisError as exc:
        raise ValueError(f"{REDIS_ENV}={url}: cannot reach Redis ({exc})") from None
    shared = RedisExampleDatabase(client, key_prefix=KEY_PREFIX)
    if local is None:
        return shared
    from hypothesis.database import MultiplexedDatabase

    return MultiplexedDatabase(local, shared)
