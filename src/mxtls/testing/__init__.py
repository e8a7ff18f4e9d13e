"""Real peers for tests and benchmarks: private instances of Debian's daemons."""

from mxtls.testing.dovecot import DovecotError, DovecotInstance
from mxtls.testing.postfix import PostfixError, PostfixInstance, PostfixPeer
from mxtls.testing.postgres import PostgresError, PostgresInstance
from mxtls.testing.prometheus import PrometheusError, PrometheusInstance
from mxtls.testing.unbound import UnboundError, UnboundInstance

__all__ = [
    "DovecotError",
    "DovecotInstance",
    "PostfixError",
    "PostfixInstance",
    "PostfixPeer",
    "PostgresError",
    "PostgresInstance",
    "PrometheusError",
    "PrometheusInstance",
    "UnboundError",
    "UnboundInstance",
]
