"""hicachectl profiles as lint input: a profile the profile loader rejects is one finding
(HC003) at the line of the offending key."""

from __future__ import annotations

from pathlib import Path

from hicachectl.lint.types import Finding, Span


def profile_findings(data: bytes, display: str) -> list[Finding]:
    """A hicachectl profile that the profile loader rejects (HC003, at the line it names)."""
    import re

    from hicachectl.errors import HicacheError
    from hicachectl.profiles import _toml_loads, _validate

    text = data.decode("utf-8", "replace")
    try:
        _validate(_toml_loads(text), Path(display))
    except HicacheError as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        msg = first[len(display) + 2 :] if first.startswith(display + ": ") else first
        return [_profile_finding(display, _key_line(text, msg.split(": ", 1)[0]), msg)]
    except ValueError as exc:  # tomllib.TOMLDecodeError: "... (at line 3, column 5)"
        m = re.search(r"line (\d+)", str(exc))
        return [_profile_finding(display, int(m.group(1)) if m else 1, f"invalid TOML: {exc}")]
    return []


def _key_line(text: str, dotted: str) -> int:
    """Line of ``section.key`` (or a top-level ``key``) in TOML text; 1 when not found."""
    *sections, key = dotted.split(".") if dotted else [""]
    section = ".".join(sections)
    current = ""
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            current = line.strip("[]").strip()
            if section and current == section and not key:
                return n
        elif current == section and line.split("=", 1)[0].strip() == key:
            return n
    return 1


def _profile_finding(path: str, line: int, msg: str) -> Finding:
    return Finding(path, Span(line, 1, line, 1), "HC003", "unparsable-input", "error", msg)
