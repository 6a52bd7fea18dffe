"""What the operator sees: child output multiplexed with a coloured name prefix, one status
line per process (a rich Live table on a terminal, plain lines on phase changes otherwise),
problems, and the ready banner.  Files are not written here: ``process.py`` copies every
child's output whole into its log file.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from hicachectl.launch.ansi import strip_ansi
from hicachectl.launch.supervisor import ChildState

COLOURS = ("36", "35", "32", "33", "34", "96", "95", "92")


class ConsolePrinter:
    """The supervisor's printer.  ``quiet`` hides child output (status and problems stay)."""

    def __init__(
        self,
        names: Sequence[str],
        *,
        on_ready: Callable[[float], list[str]],
        quiet: bool = False,
        err: TextIO | None = None,
        out: TextIO | None = None,
        live: bool | None = None,
        clock_origin: float = 0.0,
    ) -> None:
        self.err = err or sys.stderr
        self.out = out or sys.stdout
        self.tty = self.err.isatty()
        self.quiet = quiet
        self.on_ready = on_ready
        self.width = max((len(n) for n in names), default=8)
        self.colour = {n: COLOURS[i % len(COLOURS)] for i, n in enumerate(names)}
        self.origin = clock_origin
        self._phases: dict[str, str] = {}
        self._drawn = float("-inf")
        self._live = None
        if live if live is not None else self.tty:
            self._start_live()

    # ---------------------------------------------------------------- helpers
    def _paint(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.tty else text

    def _write(self, text: str, stream: TextIO | None = None) -> None:
        stream = stream or self.err
        if self._live is not None and stream is self.err:
            self._live.console.print(text, markup=False, highlight=False, soft_wrap=True)
            return
        stream.write(text + "\n")
        stream.flush()

    def _start_live(self) -> None:
        try:
            from rich.console import Console
            from rich.live import Live
        except ImportError:  # pragma: no cover - rich is a dependency
            return
        console = Console(file=self.err, force_terminal=True)
        self._live = Live(console=console, auto_refresh=False, transient=True)
        self._live.start()

    # ---------------------------------------------------------------- printer API
    def line(self, name: str, text: str) -> None:
        if self.quiet:
            return
        body = text if self.tty else strip_ansi(text)
        if self._live is not None:
            from rich.text import Text

            prefix = Text(f"{name:<{self.width}} | ", style=_rich_style(self.colour[name]))
            self._live.console.print(prefix + Text.from_ansi(body), soft_wrap=True)
            return
        self._write(f"{self._paint(self.colour.get(name, '0'), f'{name:<{self.width}} |')} {body}")

    def notice(self, text: str, *, problem: bool = False) -> None:
        mark = self._paint("1;31" if problem else "1", "hicachectl:")
        self._write(f"{mark} {text}")

    def status(self, children: Sequence[ChildState], now: float, ready: bool) -> None:
        if self._live is not None:
            # Redraw on a phase change, else at most 10 times a second.
            phases = {st.name: st.phase for st in children}
            if phases != self._phases or now - self._drawn >= 0.1:
                self._phases, self._drawn = phases, now
                self._live.update(self._table(children, now), refresh=True)
            return
        for st in children:  # plain: one line per phase change
            if self._phases.get(st.name) != st.phase:
                self._phases[st.name] = st.phase
                self._write(f"[{now - st.started_at:7.1f}s] {st.name}: {st.phase}")

    def _table(self, children: Sequence[ChildState], now: float):
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        for st in children:
            mark = "[green]✔[/]" if st.ready else ("[red]✘[/]" if st.exit_code else "[yellow]…[/]")
            table.add_row(mark, st.name, f"{now - st.started_at:6.1f}s", st.phase)
        return table

    def ready(self, children: Sequence[ChildState], elapsed: float) -> None:
        self._stop_live()
        for text in self.on_ready(elapsed):
            self.out.write(text + "\n")
        self.out.flush()

    def _stop_live(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def close(self) -> None:
        self._stop_live()


def _rich_style(ansi_code: str) -> str:
    return {
        "36": "cyan",
        "35": "magenta",
        "32": "green",
        "33": "yellow",
        "34": "blue",
        "96": "bright_cyan",
        "95": "bright_magenta",
        "92": "bright_green",
    }.get(ansi_code, "white")
