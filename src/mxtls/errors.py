"""Exceptions for what the *caller* got wrong.

Peer behaviour is never an exception in mxtls: it is recorded as an
observation and judged into findings.  The tree::

    MxtlsError
    ├── ConfigError      bad option value (nameserver, CA file, ports, ...)
    └── InvalidDomain    the domain name cannot be a mail domain

The CLI maps both to exit status 2 with a one-line message.
"""

from __future__ import annotations


class MxtlsError(Exception):
    """Base class of mxtls's own errors."""


class ConfigError(MxtlsError):
    """An option or configuration value is unusable."""


class InvalidDomain(MxtlsError):
    """The given name is not a valid domain name."""
