"""Real peers for tests and benchmarks: private instances of Debian's daemons."""

from mxtls.testing.postfix import PostfixError, PostfixInstance, PostfixPeer

__all__ = ["PostfixError", "PostfixInstance", "PostfixPeer"]
