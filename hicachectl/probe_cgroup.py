"""The probe's cgroup half: the process's memory cgroups, read the way SGLang reads them.

Part of :mod:`hicachectl.probe` (only the probe imports it).  Mirrors the walk of SGLang's
``mem_cache/host_memory.py::_cgroup_memory_headroom`` (0.5.21 and 0.5.23): for every mounted
cgroup hierarchy the process belongs to (v2, and v1's memory controller), from the process's
own cgroup up to the mount root, every ``memory.max`` / ``memory.high`` (v1:
``memory.limit_in_bytes``) that is set gives ``limit − usage``; the headroom is the smallest.

0.5.23 credits the level's file page cache (v2 ``active_file + inactive_file``, v1 the
hierarchical ``total_*`` pair) against usage, unless a descendant cgroup has (or may have) a
``memory.min`` protection.  The snapshot keeps the level that binds for 0.5.21 (its limit and
usage) plus ``cgroup_file_bytes``: how much more headroom 0.5.23 finds, so that
``limit − usage + file`` reproduces 0.5.23's minimum exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

_V1_UNLIMITED = 1 << 62  # v1 reports "no limit" as PAGE_COUNTER_MAX pages (≈ 2^63)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _int(path: Path) -> int | None:
    text = _read(path)
    if text is None or text == "max":
        return None
    try:
        return int(text.split()[0])
    except (ValueError, IndexError):
        return None


def _file_cache(directory: Path, v2: bool) -> int:
    keys = ("active_file", "inactive_file") if v2 else ("total_active_file", "total_inactive_file")
    stats: dict[str, int] = {}
    for line in (_read(directory / "memory.stat") or "").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            stats[parts[0]] = int(parts[1])
    return sum(stats.get(k, 0) for k in keys)


def _protected_below(directory: Path) -> bool:
    """True when a descendant sets memory.min, or one cannot be read (as SGLang assumes)."""
    pending = [directory]
    try:
        while pending:
            for child in pending.pop().iterdir():
                if not child.is_dir() or child.is_symlink():
                    continue
                if int((child / "memory.min").read_text().strip()) != 0:
                    return True
                pending.append(child)
    except (OSError, ValueError):
        return True
    return False


def _unescape(value: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\" and value[i + 1 : i + 4].isdigit() and len(value[i + 1 : i + 4]) == 3:
            out.append(chr(int(value[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _in_root(mount_point: str, sys_root: Path) -> Path:
    """A mount point from mountinfo, inside the (possibly fake) ``sys_root``."""
    if mount_point == "/sys":
        return sys_root
    if mount_point.startswith("/sys/"):
        return sys_root / mount_point[len("/sys/") :]
    return Path(mount_point)


@dataclass
class CgroupReading:
    """What the walk found; ``fields()`` are the HostMemory keys."""

    version: int | None = None
    path: str | None = None
    limit: int | None = None
    usage: int | None = None
    kind: str | None = None
    headroom_21: int | None = None  # min(limit − usage), unclamped: binds for 0.5.21
    headroom_23: int | None = None  # min(max(0, limit − max(0, usage − file cache)))
    v2_dir: Path | None = None  # for cpu.max
    notes: list[str] = field(default_factory=list)

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cgroup_version": self.version, "cgroup_path": self.path}
        if self.limit is not None:
            out.update(
                cgroup_limit_bytes=self.limit,
                cgroup_usage_bytes=self.usage,
                cgroup_limit_kind=self.kind,
                cgroup_file_bytes=max(0, (self.headroom_23 or 0) - (self.limit - self.usage)),
            )
        return out


def _memberships(proc_root: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in (_read(proc_root / "self" / "cgroup") or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[1] == "":
            found["cgroup2"] = parts[2]
        elif "memory" in parts[1].split(","):
            found["cgroup"] = parts[2]
    return found


def read_cgroups(proc_root: Path, sys_root: Path) -> CgroupReading:
    """Walk every memory cgroup the process is in (see the module docstring)."""
    reading = CgroupReading()
    members = _memberships(proc_root)
    resolved = False
    for line in (_read(proc_root / "self" / "mountinfo") or "").splitlines():
        before, sep, after = line.partition(" - ")
        fields, rest = before.split(), after.split()
        if not sep or len(fields) < 5 or len(rest) < 3 or rest[0] not in members:
            continue
        fstype, options = rest[0], rest[2].split(",")
        if fstype == "cgroup" and "memory" not in options:
            continue
        root, own = PurePosixPath(_unescape(fields[3])), PurePosixPath(members[fstype])
        if own.is_relative_to(root):
            relative = own.relative_to(root)
        elif root != PurePosixPath("/"):  # cgroup namespace: path is relative to its root
            relative = own.relative_to("/")
        else:
            continue
        if ".." in relative.parts:
            reading.notes.append(f"cannot resolve cgroup path {own}")
            continue
        mount = _in_root(_unescape(fields[4]), sys_root)
        directory = mount / relative
        if not directory.is_dir():
            continue
        resolved = True
        v2 = fstype == "cgroup2"
        if v2:
            reading.v2_dir = directory
        # Until a limit binds, name the v1 memory hierarchy on hybrid hosts (it holds the
        # controller); once one binds, the binding cgroup is reported.
        if reading.limit is None and (reading.version is None or not v2):
            reading.version, reading.path = (2 if v2 else 1), str(own)
        _walk(reading, directory, mount, v2, str(own))
    if members and not resolved:
        reading.notes.append(
            "cannot locate the process memory cgroup in mounted cgroup filesystems "
            "(SGLang's HiCache auto-sizing fails the same way; pass --hicache-size)"
        )
    return reading


def _walk(reading: CgroupReading, directory: Path, mount: Path, v2: bool, own: str) -> None:
    limits = ("memory.max", "memory.high") if v2 else ("memory.limit_in_bytes",)
    usage_file = "memory.current" if v2 else "memory.usage_in_bytes"
    while True:
        usage = cache = None
        for name in limits:
            limit = _int(directory / name)
            if limit is None or limit >= _V1_UNLIMITED:
                continue
            if usage is None:
                usage = _int(directory / usage_file) or 0
                cache = _file_cache(directory, v2)
                if v2 and cache and _protected_below(directory):
                    cache = 0
            raw = limit - usage
            credited = max(0, limit - max(0, usage - (cache or 0)))
            if reading.headroom_21 is None or raw < reading.headroom_21:
                reading.headroom_21 = raw
                reading.limit, reading.usage, reading.kind = limit, usage, name
                reading.version, reading.path = (2 if v2 else 1), own
            if reading.headroom_23 is None or credited < reading.headroom_23:
                reading.headroom_23 = credited
        if directory == mount or mount not in directory.parents:
            break
        directory = directory.parent
