"""The one message type between the outside world and the supervisor loop.

A named tuple in a module of its own: ``process`` (on launch's start path, before the children
run) needs it without importing the supervisor.
"""

from __future__ import annotations

from collections import namedtuple

# kind: "line" | "exit" | "signal"; name: the child; value: the line (str), the exit code
# (int) or the signal number (int).
Event = namedtuple("Event", "kind name value", defaults=("", None))
