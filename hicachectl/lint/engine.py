"""The lint engine: files -> extractions -> rules -> filtered, sorted findings.

``lint_paths`` walks files and directories, ``lint_text`` lints one text (stdin, ``-c``).
Per file: find the settings (config upward from the file, then command-line overrides),
extract commands once, build one :class:`FileContext` (each command parsed and resolved at
most once), run the enabled rules, then apply per-path ignores, inline suppressions and
severity overrides.  Files that cannot be read are reported in ``LintResult.errors``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from hicachectl.lint.config import ConfigFinder, Settings, load_config, with_overrides
from hicachectl.lint.context import FileContext, HostInfo
from hicachectl.lint.suppress import apply_suppressions
from hicachectl.lint.types import Extraction, Finding, HostFormat

SEVERITY_RANK = {"error": 3, "warning": 2, "info": 1}


@dataclass
class LintOptions:
    """Command-line options; None means "take the config file's value"."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None  # added to the config's ignore list
    sglang_version: str | None = None
    hardware: str | None = None
    host_memory: int | None = None
    config: str | None = None  # an explicit config file: no discovery
    exclude: tuple[str, ...] = ()
    probe: bool | None = None


@dataclass
class LintResult:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0  # files linted
    skipped: int = 0  # files that are not launch-command hosts
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # unreadable input (exit 2)
    lines: dict[str, list[str]] = field(default_factory=dict)  # source, for carets

    def counts(self) -> dict[str, int]:
        out = {"error": 0, "warning": 0, "info": 0}
        for f in self.findings:
            out[f.severity] += 1
        return out

    def reaches(self, threshold: str) -> bool:
        if threshold == "never":
            return False
        need = SEVERITY_RANK[threshold]
        return any(SEVERITY_RANK[f.severity] >= need for f in self.findings)


class Linter:
    """One lint run: rules instantiated once, configs and host facts cached."""

    def __init__(self, options: LintOptions | None = None) -> None:
        from hicachectl.lint.rules import RULES

        self.options = options or LintOptions()
        self.rules = [r() for r in RULES if not r.emitted_elsewhere]
        self.finder = ConfigFinder()
        self._explicit = load_config(self.options.config) if self.options.config else None
        self._hosts: dict[tuple, HostInfo] = {}
        self._by_dir: dict[str, Settings] = {}
        self._merged: dict[int, Settings] = {}
        self._host_note = False
        self.result = LintResult()

    # ------------------------------------------------------------------ settings
    def settings_for(self, path: str | None) -> Settings:
        if self._explicit is not None:
            base = self._explicit
        else:
            d = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
            base = self._by_dir.get(d)
            if base is None:
                base = self._by_dir[d] = self.finder.for_path(d)
        merged = self._merged.get(id(base))
        if merged is None:
            merged = self._merged[id(base)] = self._override(base)
        return merged

    def _override(self, base: Settings) -> Settings:
        o = self.options
        return with_overrides(
            base,
            select=o.select,
            extend_ignore=o.ignore,
            sglang_version=o.sglang_version,
            hardware=str(Path(o.hardware).resolve()) if o.hardware else None,
            host_memory=o.host_memory,
            probe=o.probe,
        )

    def host_for(self, s: Settings) -> HostInfo:
        key = (s.hardware, s.host_memory, s.probe)
        if key not in self._hosts:
            self._hosts[key] = _host_info(s)
        return self._hosts[key]

    # ------------------------------------------------------------------ linting
    def lint_bytes(
        self, path: str, data: bytes, *, fmt: HostFormat | None = None, display: str | None = None
    ) -> None:
        from hicachectl.lint.extract import extract

        settings = self.settings_for(None if path in ("-", "<command>") else path)
        try:
            ext = extract(display or path, data, fmt=fmt)
        except Exception as exc:  # one file the extractor chokes on must not stop the run
            if os.environ.get("HICACHECTL_DEBUG"):
                raise
            self.result.notes.append(
                f"{display or path}: not linted (extractor failed: {type(exc).__name__})"
            )
            return
        self.result.notes.extend(ext.notes)
        if ext.host_format is None:
            self.result.skipped += 1
            return
        self.result.files += 1
        if ext.host_format == "profile":
            from hicachectl.lint.profile_check import profile_findings

            ext.findings.extend(profile_findings(data, display or path))
        findings = self.lint_extraction(ext, settings)
        if findings:
            # No finding quotes a secret, nor does the echoed source line (one * per
            # character keeps the carets aligned).
            values = _secret_values(ext)
            lines = ext.lines
            if values:
                secrets = _secret_pattern(values)
                findings = [_masked(f, secrets) for f in findings]
                lines = [_star_values(line, secrets) for line in lines]
            self.result.findings.extend(findings)
            self.result.lines[ext.path] = lines

    def lint_extraction(self, ext: Extraction, settings: Settings) -> list[Finding]:
        from hicachectl.lint.rules import RULES_BY_CODE

        host = self.host_for(settings)
        ctx = FileContext(ext, settings, host)
        found: list[Finding] = list(ext.findings)
        if ext.commands:
            for rule in self.rules:
                if not settings.enabled(rule.code, rule.name):
                    continue
                if rule.needs_host and host.available_bytes is None:
                    self._note_no_host(ctx)
                    continue
                try:
                    found.extend(rule.check(ctx))
                except Exception as exc:  # one broken rule must not stop the run
                    if os.environ.get("HICACHECTL_DEBUG"):
                        raise
                    self.result.notes.append(
                        f"{ext.path}: rule {rule.code} failed: {type(exc).__name__}: {exc}"
                    )
        self.result.notes.extend(ctx.notes)
        out = []
        for f in found:
            rule = RULES_BY_CODE.get(f.code)
            name = rule.name if rule else f.name
            if not settings.enabled(f.code, name) or settings.ignored_for(ext.path, f.code, name):
                continue
            sev = settings.severity.get(f.code)
            if sev and sev != f.severity:
                f = Finding(f.path, f.span, f.code, f.name, sev, f.message, f.fix)  # type: ignore[arg-type]
            out.append(f)
        out = apply_suppressions(out, ext)
        return sorted(set(out), key=Finding.sort_key)

    def _note_no_host(self, ctx: FileContext) -> None:
        if self._host_note:
            return
        pins = any(v.is_engine and v.is_explicit("hicache_size") for v in ctx.views)
        if pins:
            self._host_note = True
            self.result.notes.append(
                "host memory unknown: HC401/HC402 (host budget) skipped; pass --hardware FILE, "
                "--host-memory SIZE, or set probe = true in [tool.hicachectl]"
            )


MIN_SECRET_LEN = 4  # shorter values ("1", "on") would star out ordinary words


def _secret_values(ext: Extraction) -> list[str]:
    """Values a finding must never quote: of secret-named variables (the file's, each
    command's environment, a compose .env) and of secret-named flags (``--api-key KEY``);
    longest first, so that a secret containing another is starred whole."""
    from hicachectl.secrets import is_placeholder, is_secret_name

    found = set(ext.secret_values)
    found.update(v for k, v in ext.file_env.items() if is_secret_name(k))
    for cmd in ext.commands:
        found.update(v for k, v in cmd.env.items() if is_secret_name(k))
        toks = cmd.tokens
        for i, tok in enumerate(toks):
            name, eq, value = tok.text.partition("=")
            if not (name.startswith("--") and is_secret_name(name)):
                continue
            if eq:
                found.add(value)
            elif i + 1 < len(toks):
                found.add(toks[i + 1].text)
    return sorted(
        (
            v
            for v in found
            if len(v) >= MIN_SECRET_LEN and not is_placeholder(v) and not v.isdigit()
        ),
        key=len,
        reverse=True,
    )


def _secret_pattern(secrets: list[str]) -> re.Pattern[str]:
    """The secrets as whole words: ``test1234`` inside ``latest12345`` is not one."""
    alts = "|".join(re.escape(v) for v in secrets)  # longest first: a longer one wins
    return re.compile(rf"(?<![\w.-])(?:{alts})(?![\w.-])")


def _star_values(line: str, secrets: re.Pattern[str]) -> str:
    return secrets.sub(lambda m: "*" * len(m.group(0)), line)


def _masked(f: Finding, secrets: re.Pattern[str]) -> Finding:
    message = secrets.sub("***", f.message)
    fix = secrets.sub("***", f.fix) if f.fix else f.fix
    if message == f.message and fix == f.fix:
        return f
    return Finding(f.path, f.span, f.code, f.name, f.severity, message, fix)


def _host_info(s: Settings) -> HostInfo:
    from hicachectl.probe import host_headroom_bytes, load_snapshot

    if s.host_memory is not None:
        return HostInfo(s.host_memory, f"--host-memory {s.host_memory / 1e9:.0f} GB")
    if s.hardware:
        snap = load_snapshot(s.hardware)
        return HostInfo(host_headroom_bytes(snap), f"snapshot {s.hardware}", len(snap.gpus))
    if s.probe:
        from hicachectl.probe import probe

        snap = probe()
        return HostInfo(host_headroom_bytes(snap), "probed on this host", len(snap.gpus))
    return HostInfo()


PARALLEL_MIN_FILES = 256  # below this, starting workers costs more than it saves


def lint_paths(
    paths: list[str], *, options: LintOptions | None = None, jobs: int | None = None
) -> LintResult:
    """Lint files and directories (recursively); unreadable ones land in ``errors``.

    ``jobs``: worker processes for large trees (default: one per CPU, at most 4, and only
    from ``PARALLEL_MIN_FILES`` files on); results are identical to a serial run.
    """
    from hicachectl.lint.walk import iter_files

    options = options or LintOptions()
    errors = [f"{p}: no such file or directory" for p in paths if not os.path.exists(p)]
    files = [
        str(f) for f in iter_files([p for p in paths if os.path.exists(p)], tuple(options.exclude))
    ]
    n = jobs if jobs is not None else min(os.cpu_count() or 1, 4)
    if n > 1 and len(files) >= PARALLEL_MIN_FILES and _can_fork():
        result = _lint_parallel(files, options, n)
    else:
        result = _lint_files(files, options)
    result.errors[:0] = errors
    return result


def _lint_files(files: list[str], options: LintOptions) -> LintResult:
    from hicachectl.lint.walk import read_file

    linter = Linter(options)
    for path in files:
        try:
            data = read_file(path)
        except OSError as exc:
            linter.result.errors.append(f"{path}: cannot read: {exc.strerror or exc}")
            continue
        s = linter.settings_for(path)
        if s.exclude and _excluded(path, s):
            continue
        linter.lint_bytes(path, data)
    return linter.result


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def _lint_parallel(files: list[str], options: LintOptions, jobs: int) -> LintResult:
    """Contiguous chunks (neighbouring files share config lookups), merged in order."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    size = -(-len(files) // (jobs * 4))
    chunks = [files[i : i + size] for i in range(0, len(files), size)]
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        parts = list(pool.map(_lint_files, chunks, [options] * len(chunks)))
    out = LintResult()
    for part in parts:
        out.findings.extend(part.findings)
        out.files += part.files
        out.skipped += part.skipped
        out.notes.extend(n for n in part.notes if n not in out.notes)
        out.errors.extend(part.errors)
        out.lines.update(part.lines)
    return out  # chunks are contiguous: findings stay in walk order, as in a serial run


def _excluded(path: str, s: Settings) -> bool:
    import fnmatch

    from hicachectl.lint.config import _relative

    rel = _relative(path, s.root)
    return any(fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(Path(path).name, g) for g in s.exclude)


def lint_text(
    text: str | bytes,
    *,
    path: str = "-",
    options: LintOptions | None = None,
    fmt: HostFormat | None = None,
) -> LintResult:
    """Lint one text: stdin (``path`` is ``--stdin-filename``) or a ``-c`` command."""
    linter = Linter(options)
    data = text.encode("utf-8") if isinstance(text, str) else text
    linter.lint_bytes(path, data, fmt=fmt, display=path)
    return linter.result
