"""docker compose files: each service's entrypoint + command as an argv.

A list is an argv; a string is split shell-like with *no* shell (quotes removed, no
variables).  Compose interpolates ``${VAR}`` at parse time from the host environment and the
``.env`` file beside the compose file; lint uses the ``.env`` file only (the shell at lint time
is not the deploy host's).  A variable it sets takes its value (``${VAR:-default}`` also when
it is empty); otherwise ``${VAR:-default}`` and ``${VAR-default}`` take the default and other
references are unknown; ``$$`` is a literal ``$``.  ``[sh, -c, SCRIPT]`` is handed to the shell extractor.
One compose file is one group (its services share a host).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping

from hicachectl.lint.extract.common import RowMap
from hicachectl.lint.extract.shell import extract_shell
from hicachectl.lint.extract.shell_words import Var, Vars
from hicachectl.lint.extract.yaml_docs import YNode
from hicachectl.lint.extract.yaml_fields import span_of
from hicachectl.lint.extract.yaml_scalar import scalar_snippet
from hicachectl.lint.types import Command, Extraction, Span, Token

_INTERP = re.compile(
    r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?[^}]*\}|\$([A-Za-z_][A-Za-z0-9_]*)"
)
_MEM = re.compile(r"^\s*([0-9.]+)\s*([bkmgt]?)b?\s*$", re.I)
_SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ash"})


def compose_bytes(text: str | None) -> int | None:
    """Compose byte values ('4g', '512m', '1024') -> bytes (compose units are powers of 1024)."""
    m = _MEM.match(text or "")
    if not m:
        return None
    return int(float(m.group(1)) * 1024 ** "bkmgt".index((m.group(2) or "b").lower()))


def interpolate(text: str, values: Mapping[str, str] | None = None) -> tuple[str, bool]:
    """``text`` with compose's interpolation done; False when a reference stays unknown."""
    known = True

    def sub(m: re.Match) -> str:
        nonlocal known
        if m.group(0) == "$$":
            return "$"
        name, op = m.group(1) or m.group(4), m.group(2)
        if values is not None and name in values:
            if op == ":-" and values[name] == "":
                return m.group(3) or ""
            return values[name]
        if op:
            return m.group(3) or ""
        known = False
        return m.group(0)

    return (_INTERP.sub(sub, text) if "$" in text else text), known


def split_words(text: str) -> list[tuple[str, int, int]]:
    """shlex-like split keeping (word, start, end) offsets into ``text``."""
    out, i, n = [], 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        start, buf = i, []
        while i < n and not text[i].isspace():
            c = text[i]
            if c in "'\"":
                j = i + 1
                while j < n and text[j] != c:
                    if c == '"' and text[j] == "\\" and j + 1 < n:
                        j += 1
                    buf.append(text[j])
                    j += 1
                i = j + 1
            elif c == "\\" and i + 1 < n:
                buf.append(text[i + 1])
                i += 2
            else:
                buf.append(c)
                i += 1
        out.append(("".join(buf), start, min(i, n)))
    return out


def _tokens(node: YNode | None, lines: list[str]) -> list[tuple[str, Span, str]]:
    if node is None:
        return []
    if node.kind == "seq":
        return [(n.value, span_of(n), n.value) for n in node.items() if n.kind == "str"]
    if node.kind != "str":
        return []
    text, rmap, _ = scalar_snippet(node, lines)
    out = []
    for word, s, e in split_words(text):
        srow, scol = text.count("\n", 0, s), s - (text.rfind("\n", 0, s) + 1)
        erow, ecol = text.count("\n", 0, e), e - (text.rfind("\n", 0, e) + 1)
        out.append((word, rmap.span(srow, scol, erow, ecol), text[s:e]))
    return out


def _environment(
    node: YNode | None, dotenv: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, Span]]:
    env: dict[str, str] = {}
    spans: dict[str, Span] = {}
    if node is None:
        return env, spans
    if node.kind == "map":
        for k, v in node.value:
            if k.kind == "str":
                env[k.value] = interpolate(v.value, dotenv)[0] if v.kind == "str" else ""
                spans[k.value] = span_of(k)
    for item in node.items():
        if item.kind == "str" and item.value:
            key, _, val = item.value.partition("=")
            env[key] = interpolate(val, dotenv)[0]
            spans[key] = span_of(item)
    return env, spans


def _reserved_gpus(svc: YNode) -> int | None:
    """GPUs a service reserves (``deploy.resources.reservations.devices`` with the gpu
    capability: ``device_ids`` or a numeric ``count``); None for ``all`` or no reservation."""
    devices = svc.path("deploy", "resources", "reservations", "devices")
    total = 0
    for dev in devices.items() if devices is not None else []:
        if dev.kind != "map":
            continue
        caps = dev.get("capabilities")
        if caps is None or not any(c.kind == "str" and c.value == "gpu" for c in caps.items()):
            continue
        ids, count = dev.get("device_ids"), dev.get("count")
        if ids is not None and ids.kind == "seq":
            total += len(list(ids.items()))
        elif count is not None and count.kind == "str" and count.value.isdigit():
            total += int(count.value)
        else:
            return None  # `count: all` or unreadable: every GPU of the host
    return total or None


def extract_compose(doc: YNode, ex: Extraction) -> None:
    services = doc.get("services")
    dotenv: dict[str, str] = {}
    if services is not None and ex.path not in ("-", "<stdin>"):
        from hicachectl.lint.extract.dotenv import compose_dotenv

        dotenv, note = compose_dotenv(ex.path)
        if note:
            ex.notes.append(note)
        from hicachectl.secrets import is_secret_name

        ex.secret_values.update(v for k, v in dotenv.items() if is_secret_name(k))
    for k, svc in services.value if services is not None and services.kind == "map" else []:
        if svc.kind != "map":
            continue
        env, env_spans = _environment(svc.get("environment"), dotenv)
        ex.file_env.update(env)
        ctx: dict = {"service": k.value, "compose": True}
        if svc.text("image"):
            ctx["image"] = svc.text("image")
        mem = compose_bytes(
            svc.path("deploy", "resources", "limits", "memory")
            and svc.path("deploy", "resources", "limits", "memory").value
        ) or compose_bytes(svc.text("mem_limit"))
        if mem:
            ctx["k8s_memory_limit_bytes"] = mem
        gpus = _reserved_gpus(svc)
        if gpus:
            ctx["gpus"] = gpus
        entry, command = svc.get("entrypoint"), svc.get("command")
        words = _tokens(entry, ex.lines) + _tokens(command, ex.lines)
        if not words:
            continue
        if (
            len(words) >= 3
            and posixpath.basename(words[0][0]) in _SHELLS
            and words[1][0].startswith("-")
            and "c" in words[1][0]
        ):
            script = command if command is not None and command.kind == "seq" else entry
            node = (
                next(
                    (n for n in script.items() if n.kind == "str" and n.value == words[2][0]), None
                )
                if script is not None
                else None
            )
            if node is not None:
                text, rmap, _ = scalar_snippet(node, ex.lines)
            else:  # string form: the script is the third shell-split word
                word, sp, raw = words[2]
                text = word
                rmap = RowMap.at(sp.line, sp.col if raw[:1] in "'\"" else sp.col - 1)
            r = extract_shell(
                text,
                ex.path,
                rowmap=rmap,
                host_format="compose",
                group=ex.path,
                # compose interpolates the script with .env before the shell sees it
                vars=Vars({a: Var(b) for a, b in {**env, **dotenv}.items()}),
                suppressions=False,
            )
            ex.findings.extend(r.findings)
            for cmd in r.commands:
                cmd.env = {**env, **cmd.env}
                cmd.context = {**ctx, "via": "sh -c", **cmd.context}
                ex.commands.append(cmd)
            continue
        tokens = []
        for word, sp, raw in words:
            text, known = interpolate(word, dotenv)
            tokens.append(Token(text, sp, raw, known))
        first, last = tokens[0].span, tokens[-1].span
        ex.commands.append(
            Command(
                ex.path,
                "compose",
                tokens,
                Span(first.line, first.col, last.end_line, last.end_col),
                env=env,
                env_spans=env_spans,
                group=ex.path,
                context=ctx,
            )
        )
