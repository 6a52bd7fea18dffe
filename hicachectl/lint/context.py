"""Per-file lint context: every launch command parsed and resolved once, shared by all rules.

Rules never parse argv or read files.  They read a :class:`FileContext` (the extraction,
the effective settings, the host budget) and its :class:`~hicachectl.lint.view.CommandView`
objects: one per SGLang / Dynamo command, built here (including commands started through a
launcher the parser does not know) and holding the parser's and resolver's results.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hicachectl.lint.parse_recovery import read_on
from hicachectl.lint.types import Command, Extraction, Token
from hicachectl.lint.view import (  # noqa: F401 - re-exported for rules
    ENGINE_ENTRYPOINTS,
    WORKER_ENTRYPOINTS,
    CommandView,
    merge_spans,
)

if TYPE_CHECKING:
    from hicachectl.lint.config import Settings
    from hicachectl.sglang.types import ParsedCommand


@dataclass(frozen=True)
class HostInfo:
    """The host memory the memory rules compare against (None fields: not known)."""

    available_bytes: int | None = None  # min(available DRAM, cgroup headroom)
    source: str = ""  # "--host-memory 1TB", "snapshot hw.json", "probe"
    gpu_count: int | None = None  # GPUs in the snapshot / probe


@dataclass
class FileContext:
    extraction: Extraction
    settings: Settings
    host: HostInfo = field(default_factory=HostInfo)
    notes: list[str] = field(default_factory=list)
    _views: list[CommandView] | None = None
    _memo: dict[str, Any] = field(default_factory=dict)

    def memo(self, key: str, compute):
        """Compute a per-file fact once (groupings several rules share)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    @property
    def path(self) -> str:
        return self.extraction.path

    @property
    def views(self) -> list[CommandView]:
        if self._views is None:
            self._views = [v for v in map(self._view, self.extraction.commands) if v]
        return self._views

    def engines(self, *, sound: bool = True) -> Iterator[CommandView]:
        """SGLang engine commands; by default only those whose values can be trusted."""
        return (v for v in self.views if v.is_engine and (v.sound or not sound))

    def groups(self) -> dict[str, list[CommandView]]:
        def compute():
            out: dict[str, list[CommandView]] = {}
            for v in self.views:
                out.setdefault(v.cmd.group, []).append(v)
            return out

        return self.memo("groups", compute)

    def _view(self, cmd: Command) -> CommandView | None:
        if cmd.context.get("sglang_config"):
            return self._config_view(cmd)
        texts = [t.text for t in cmd.tokens]
        if not any("sglang" in t or "dynamo" in t for t in texts):
            return None  # cheap pre-filter: most commands in a file are not launches
        if texts[:2] == ["docker", "run"] and "gpus" not in cmd.context:
            gpus = _docker_gpus(texts)
            if gpus:
                cmd.context["gpus"] = gpus  # what HC512 compares tp × pp × dp with
        parsed = self._parse(cmd, texts)
        if parsed.entrypoint == "unknown":
            # A launcher the parser does not know (a shell function such as `start NAME
            # env ... python -m ...`, `setsid`, `sudo -E`): try from the next wrapper or
            # interpreter word on.
            for i in _launch_starts(texts):
                sub = _replace_tokens(cmd, cmd.tokens[i:])
                parsed = self._parse(sub, texts[i:])
                if parsed.entrypoint != "unknown":
                    cmd = sub
                    break
            else:
                return None
        missing = _missing_config(parsed)
        if missing is not None:
            # A --config / --disagg-config file that lives on the serving host: its settings
            # are unknown here.  Lint the rest of the command without it.
            drop = set(missing)
            sub = _replace_tokens(cmd, [t for i, t in enumerate(cmd.tokens) if i not in drop])
            self.notes.append(
                f"{cmd.path}:{cmd.span.line}: {texts[missing[1]]} is not available here; "
                "its settings are unknown"
            )
            parsed = self._parse(sub, [t.text for t in sub.tokens])
            cmd = sub
        parsed, standins = read_on(cmd, parsed, self._parse)
        if parsed.env:
            # `env VAR=...` wrappers and prefixes the extractor left in the argv.
            cmd = _with_env(cmd, parsed)
        view = CommandView(cmd, self, parsed, unknown_config=missing is not None)
        view.standins = standins
        return view

    def _config_view(self, cmd: Command) -> CommandView | None:
        """An SGLang ``--config`` file on its own (a standalone YAML, or a ConfigMap value no
        command in the file mounts), checked as ``sglang serve --config FILE``.  A mounted
        one is checked through the command that mounts it.  The command line that uses the
        file may add any flag, so rules that need a flag to be absent stay silent."""
        if (
            cmd.context.get("mounted_by")
            or not cmd.tokens
            or not _mostly_flags(cmd, self.settings.target_version("sglang"))
        ):
            return None
        head = cmd.tokens[0].span
        sub = _replace_tokens(cmd, [Token("sglang", head), Token("serve", head), *cmd.tokens])
        return CommandView(sub, self, self._parse(sub, [t.text for t in sub.tokens]), True)

    def _parse(self, cmd: Command, texts: list[str]) -> ParsedCommand:
        from hicachectl.sglang.argv import parse_command

        configs = cmd.config_files or None
        guess = "dynamo" if any("dynamo." in t for t in texts) else "sglang"
        want = self.settings.target_version(guess)
        parsed = parse_command(texts, sglang_version=want, config_texts=configs)
        actual = "dynamo" if parsed.entrypoint.startswith("dynamo.") else "sglang"
        if parsed.entrypoint != "unknown" and actual != guess:
            want2 = self.settings.target_version(actual)
            if want2 != want:
                parsed = parse_command(texts, sglang_version=want2, config_texts=configs)
        return parsed


def _mostly_flags(cmd: Command, version: str) -> bool:
    """At least half of a YAML mapping's keys are SGLang flags: an SGLang config file, not
    some other tool's values file that happens to have a `model_path` key."""
    from hicachectl.sglang.flags import sglang_table

    opts = sglang_table(version).by_opt
    keys = [t.text.replace("_", "-") for t in cmd.tokens if t.text.startswith("--")]
    return bool(keys) and 2 * sum(k in opts for k in keys) >= len(keys)


def _docker_gpus(texts: list[str]) -> int | None:
    """GPUs `docker run --gpus N|device=0,1` gives the container (None: all, or not set)."""
    for i, t in enumerate(texts[2:], 2):
        base = t.rsplit("/", 1)[-1]
        if base.startswith("python") or base == "sglang":
            return None  # the command run inside the image: docker's options ended
        value = t.split("=", 1)[1] if t.startswith("--gpus=") else None
        if t == "--gpus" and i + 1 < len(texts):
            value = texts[i + 1]
        if value is None:
            continue
        value = value.strip("'\"")
        if value.isdigit():
            return int(value)
        if value.startswith("device="):
            return len([d for d in value[len("device=") :].split(",") if d.strip()])
        return None
    return None


_LAUNCH_WORDS = frozenset(
    {"env", "nohup", "exec", "setsid", "timeout", "numactl", "taskset", "stdbuf", "nice",
     "ionice", "chrt", "sudo", "time", "uv", "srun", "mpirun"}
)  # fmt: skip


def _launch_starts(texts: list[str]) -> list[int]:
    """Where a launch may start inside an unrecognised command (at most two tries)."""
    out = []
    for i, t in enumerate(texts[1:], 1):
        base = t.rsplit("/", 1)[-1]
        if base in _LAUNCH_WORDS or base.startswith("python") or base == "sglang":
            out.append(i)
            if len(out) == 2:
                break
    return out


_MISSING = ("Config file not found", "Disagg config file not found", "cannot read config file")


def _missing_config(parsed: ParsedCommand) -> tuple[int, ...] | None:
    """Token indexes of a ``--config FILE`` (or ``--disagg-config FILE --disagg-config-key
    KEY``) whose file could not be read, else None."""
    p = parsed.fatal
    if p is None or p.code != "config" or p.token_index is None:
        return None
    if not any(m in p.message for m in _MISSING) or p.token_index < 1:
        return None
    drop = [p.token_index - 1, p.token_index]
    toks = parsed.tokens
    if toks[p.token_index - 1] == "--disagg-config" and "--disagg-config-key" in toks:
        k = toks.index("--disagg-config-key")
        drop += [k, k + 1]
    return tuple(drop)


def _replace_tokens(cmd: Command, tokens: list) -> Command:
    return Command(
        path=cmd.path,
        host_format=cmd.host_format,
        tokens=tokens,
        span=cmd.span,
        env=dict(cmd.env),
        env_spans=dict(cmd.env_spans),
        background=cmd.background,
        group=cmd.group,
        context=cmd.context,
        config_files=cmd.config_files,
    )


def _with_env(cmd: Command, parsed: ParsedCommand) -> Command:
    env = dict(cmd.env)
    spans = dict(cmd.env_spans)
    for name, value in parsed.env.items():
        env.setdefault(name, value)
        if name not in spans:
            tok = next((t for t in cmd.tokens if t.text.startswith(name + "=")), None)
            if tok is not None:
                spans[name] = tok.span
    if env == cmd.env:
        return cmd
    out = _replace_tokens(cmd, cmd.tokens)
    out.env, out.env_spans = env, spans
    return out
