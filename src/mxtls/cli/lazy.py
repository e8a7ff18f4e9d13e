"""A click group whose commands are imported only when they run.

``mxtls --help`` must answer in a blink, and the command line keeps growing
(check, demo, monitor, serve, scan, ...), each command with its own heavy
libraries (pydantic, cryptography, dnspython, SQLAlchemy, FastAPI, Dask...).
So the root group knows its commands from a static table, a name, where the
command lives (``"module:attribute"``) and the one-line summary ``--help``
shows, and imports a command's module only when that command is invoked or
asked for its own help.  This is click's documented "lazily loading
subcommands" pattern.

A command module keeps its own top level light too (click, the standard
library, :mod:`mxtls.cli.options`): it imports what the command needs inside
the command's function, once the arguments are parsed and before any event
loop starts.  ``tests/test_startup.py`` holds every command to that.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import click


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """One row of a lazy group's table.

    Attributes:
        name: what the user types (``scan-host``).
        target: ``"module:attribute"`` of the click command object.
        summary: the line ``--help`` lists, equal to the command's own short
            help (a test compares them, so the table cannot drift).
    """

    name: str
    target: str
    summary: str

    def load(self) -> click.Command:
        """Import the command's module and return the command.

        Raises:
            TypeError: the target is not a click command (a wrong table row).
        """
        module_name, _, attribute = self.target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is not a click command")
        return command


class LazyGroup(click.Group):
    """A group that imports each command from its table on first use."""

    def __init__(self, *args: Any, lazy_commands: Iterable[LazyCommand] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy_commands = {c.name: c for c in lazy_commands}

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command's name, without importing any of them."""
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command called ``cmd_name``, imported now if it is a lazy one."""
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy_commands:
            command = self.lazy_commands[cmd_name].load()
            self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The "Commands" section of ``--help``, from the table (nothing imported)."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows: list[tuple[str, str]] = []
        for name in names:
            loaded = self.commands.get(name)
            if loaded is not None:
                if loaded.hidden:
                    continue
                rows.append((name, loaded.get_short_help_str(limit)))
            else:
                # A bare command carrying the summary shortens it as click would.
                stand_in = click.Command(name, help=self.lazy_commands[name].summary)
                rows.append((name, stand_in.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)
