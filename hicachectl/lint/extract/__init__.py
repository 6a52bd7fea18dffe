"""Turn one file into an :class:`Extraction`: pick its host format, decode it defensively,
and hand it to the format's extractor.

Public API (used by the lint engine):

* ``detect_format(path, head) -> HostFormat | None`` — by name first, then by content sniffing
  (shebang, Markdown fences in ``.txt``, YAML keys).  ``None``: not a file we lint.
* ``extract(path, data, *, fmt=None) -> Extraction`` — never raises on bad input: binary data,
  invalid UTF-8, oversized input and parse problems become notes or findings.
"""

from __future__ import annotations

import posixpath
import re

from hicachectl.lint.types import Extraction, HostFormat

MAX_BYTES = 1024 * 1024  # files above this are linted on their first MAX_BYTES only
_SHEBANG = re.compile(
    rb"^#![ \t]*(?:/usr)?(?:/local)?/bin/(?:env[ \t]+(?:-\S+[ \t]+)*)?(bash|sh|zsh|dash|ksh)\b"
)
_PROFILE_TABLE = re.compile(rb"^\[(hicache|workers|frontend)\]", re.M)
_PROFILE_MODEL = re.compile(rb"^model\s*=", re.M)
_SHELL_EXT = (".sh", ".bash", ".zsh", ".ksh")
_MD_EXT = (".md", ".mdx", ".markdown")
_YAML_EXT = (".yaml", ".yml")


def detect_format(path: str, head: bytes) -> HostFormat | None:
    """Host format from the file name, else from the first bytes (``head``)."""
    name = posixpath.basename(path.replace("\\", "/"))
    low = name.lower()
    if low.endswith(_SHELL_EXT):
        return "shell"
    if low.endswith(_MD_EXT):
        return "markdown"
    if low.endswith(_YAML_EXT):
        from hicachectl.lint.extract.yaml_docs import sniff_yaml

        return sniff_yaml(name, head)
    if (
        low in ("dockerfile", "containerfile")
        or low.endswith((".dockerfile", ".containerfile"))
        or low.startswith(("dockerfile.", "containerfile."))
    ):
        return "dockerfile"
    if low.endswith(".toml"):
        parent = posixpath.basename(posixpath.dirname(path.replace("\\", "/")))
        if low in ("pyproject.toml", ".hicachectl.toml"):
            return None
        if parent == "profiles" or (_PROFILE_TABLE.search(head) and _PROFILE_MODEL.search(head)):
            return "profile"
        return None
    if _SHEBANG.match(head):
        return "shell"
    if low.endswith(".txt") and (b"```" in head or b"~~~" in head):
        return "markdown"
    return None


def decode(path: str, data: bytes, ex: Extraction) -> str | None:
    """bytes -> text, with notes for binary, oversized and badly encoded input."""
    if b"\x00" in data[:8192]:
        ex.notes.append(f"{path}: binary file (NUL bytes), skipped")
        return None
    if len(data) > MAX_BYTES:
        cut = data.rfind(b"\n", 0, MAX_BYTES)
        ex.notes.append(
            f"{path}: {len(data) / 1e6:.1f} MB is over the {MAX_BYTES // (1024 * 1024)} MiB "
            f"limit; only the first {cut + 1} bytes were linted"
        )
        data = data[: cut + 1] if cut > 0 else data[:MAX_BYTES]
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        ex.notes.append(f"{path}:{line}: invalid UTF-8, decoded with replacement characters")
        return data.decode("utf-8", "replace")


def extract(path: str, data: bytes, *, fmt: HostFormat | None = None) -> Extraction:
    """All launch commands in one file (``fmt`` overrides detection, e.g. ``--stdin-format``)."""
    fmt = fmt or detect_format(path, data[:65536])
    ex = Extraction(path=path, host_format=fmt)
    if fmt is None:
        return ex
    text = decode(path, data, ex)
    if text is None:
        ex.host_format = None
        return ex
    if "\r\n" in text and fmt in ("shell", "dockerfile"):
        line = text[: text.index("\r\n")].count("\n") + 1
        ex.notes.append(
            f"{path}:{line}: CRLF line endings: bash reads '\\r' as part of each word, so a "
            "'\\' before CRLF does not continue the line (read here with LF endings)"
        )
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    ex.lines = text.split("\n")
    if fmt in ("shell", "cli"):  # "cli": one command given on the command line
        from hicachectl.lint.extract.shell import extract_shell

        r = extract_shell(text, path, host_format=fmt)
        ex.commands, ex.findings, ex.suppressions = r.commands, r.findings, r.suppressions
        ex.file_env, ex.notes = r.file_env, ex.notes + r.notes
    elif fmt == "markdown":
        from hicachectl.lint.extract.markdown import extract_markdown

        extract_markdown(text, ex)
    elif fmt in ("k8s", "compose", "sglang-config"):
        from hicachectl.lint.extract.yaml_docs import extract_yaml

        extract_yaml(text, ex)
    elif fmt == "dockerfile":
        from hicachectl.lint.extract.dockerfile import extract_dockerfile

        extract_dockerfile(text, ex)
    # "profile": detected only; the engine validates it through the profile loader.
    if ex.suppressions and ex.commands:
        _spread_suppressions(ex)
    return ex


def _spread_suppressions(ex: Extraction) -> None:
    """A directive on the line before a multi-line command covers every line of it, so the
    engine can match suppressions by line alone.  In YAML the directive may sit above the
    ``command:`` key, one line before the command's first token."""
    from hicachectl.lint.types import Suppression

    ends: dict[int, int] = {}
    for c in ex.commands:
        ends[c.span.line] = max(ends.get(c.span.line, 0), c.span.end_line)
    extra = []
    for s in ex.suppressions:
        if s.file_wide:
            continue
        end = ends.get(s.line, s.line)
        if (
            end == s.line
            and s.line + 1 in ends
            and not any(c.span.line <= s.line <= c.span.end_line for c in ex.commands)
        ):
            end = ends[s.line + 1]
        extra.extend(Suppression(s.codes, ln, s.reason) for ln in range(s.line + 1, end + 1))
    if extra:
        ex.suppressions.extend(dict.fromkeys(extra))
