"""The machine: GPUs through NVML, host memory through psutil and the process's cgroup.

The only module that touches pynvml, psutil, /proc, /sys, cgroups and /dev/shm.  Every
other verb reads a :class:`~hicachectl.models.HardwareSnapshot`, either from :func:`probe`
or from a JSON file through :func:`load_snapshot`, so tests reach every path with fake
``proc_root``/``sys_root``/``dev_root`` trees and a fake NVML object.

Host headroom is what SGLang's HiCache budget starts from (reference §3.4):
``min(psutil available, cgroup limit − usage)``, where the cgroup part is the tightest
``limit − usage`` of any cgroup from the process's own up to the mount root.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from hicachectl.errors import InputError, format_validation_error, where
from hicachectl.models import GPU, HardwareSnapshot, HostMemory

NO_LIMIT = 1 << 62  # v1's "unlimited" is PAGE_COUNTER_MAX pages (≈ 2^63); anything this big


# --------------------------------------------------------------------------- small readers


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _read_int(path: Path) -> int | None:
    """An integer file; ``max`` and v1's huge sentinel mean "no limit" → None."""
    text = _read(path)
    if text is None or text == "max":
        return None
    try:
        value = int(text.split()[0])
    except (ValueError, IndexError):
        return None
    return None if value >= NO_LIMIT else value


def _stat_file_bytes(path: Path) -> int | None:
    """active_file + inactive_file from memory.stat (v1: the hierarchical total_* pair)."""
    text = _read(path)
    if text is None:
        return None
    stats: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            stats[parts[0]] = int(parts[1])
    for prefix in ("total_", ""):
        a, i = stats.get(prefix + "active_file"), stats.get(prefix + "inactive_file")
        if a is not None and i is not None:
            return a + i
    return None


# --------------------------------------------------------------------------- cgroups


def _host_path(mount_point: str, sys_root: Path) -> Path:
    """Map a mount point from mountinfo into the (possibly fake) ``sys_root``."""
    if mount_point == "/sys" or mount_point.startswith("/sys/"):
        return sys_root / mount_point[len("/sys/") :] if mount_point != "/sys" else sys_root
    return Path(mount_point)


def _mounts(proc_root: Path) -> list[tuple[str, str, str, str]]:
    """``(root, mount_point, fstype, super_options)`` of cgroup mounts in mountinfo."""
    out = []
    for line in (_read(proc_root / "self" / "mountinfo") or "").splitlines():
        head, sep, tail = line.partition(" - ")
        fields, rest = head.split(), tail.split()
        if not sep or len(fields) < 5 or len(rest) < 3:
            continue
        if rest[0] in ("cgroup", "cgroup2"):
            out.append((fields[3], fields[4].replace("\\040", " "), rest[0], rest[2]))
    return out


def _own_cgroups(proc_root: Path) -> tuple[str | None, str | None]:
    """The process's v2 path and v1 memory-controller path from /proc/self/cgroup."""
    v2 = v1 = None
    for line in (_read(proc_root / "self" / "cgroup") or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            v2 = parts[2]
        elif "memory" in parts[1].split(","):
            v1 = parts[2]
    return v2, v1


def _locate(proc_root: Path, sys_root: Path) -> tuple[int, Path, Path, str] | None:
    """``(version, mount directory, own directory, own cgroup path)`` or None."""
    v2_path, v1_path = _own_cgroups(proc_root)
    for root, point, fstype, opts in _mounts(proc_root):
        if fstype == "cgroup" and v1_path is not None and "memory" in opts.split(","):
            version, own = 1, v1_path
        elif fstype == "cgroup2" and v2_path is not None and v1_path is None:
            version, own = 2, v2_path
        else:
            continue
        base = _host_path(point, sys_root)
        # The mount shows the hierarchy from `root` down; our path is relative to it.
        rel = own[len(root) :] if own.startswith(root) else ""
        directory = base / rel.lstrip("/") if rel.strip("/") else base
        if not directory.is_dir():
            directory = base
        return version, base, directory, own
    return None


def cgroup_memory(proc_root: Path, sys_root: Path) -> dict[str, Any]:
    """Walk from the process's cgroup up to the mount root; keep the level whose
    ``limit − usage`` is smallest (the one that binds).  Empty dict when none is limited."""
    found = _locate(proc_root, sys_root)
    if found is None:
        return {}
    version, base, directory, own = found
    best: dict[str, Any] = {"cgroup_version": version, "cgroup_path": own}
    best_headroom: int | None = None
    level = directory
    while True:
        if version == 2:
            usage = _read_int(level / "memory.current")
            limits = [(_read_int(level / "memory.max"), "memory.max")]
            limits.append((_read_int(level / "memory.high"), "memory.high"))
        else:
            usage = _read_int(level / "memory.usage_in_bytes")
            limits = [(_read_int(level / "memory.limit_in_bytes"), "memory.limit_in_bytes")]
        for limit, kind in limits:
            if limit is None:
                continue
            headroom = limit - (usage or 0)
            if best_headroom is None or headroom < best_headroom:
                best_headroom = headroom
                best.update(
                    cgroup_limit_bytes=limit,
                    cgroup_usage_bytes=usage,
                    cgroup_limit_kind=kind,
                    cgroup_file_bytes=_stat_file_bytes(level / "memory.stat"),
                )
        if level == base or base not in level.parents:
            break
        level = level.parent
    return best


# --------------------------------------------------------------------------- host


def _meminfo(proc_root: Path) -> tuple[int, int]:
    """(total, available) DRAM bytes, through psutil pointed at ``proc_root``."""
    import psutil

    saved = psutil.PROCFS_PATH
    psutil.PROCFS_PATH = str(proc_root)
    try:
        vm = psutil.virtual_memory()
    finally:
        psutil.PROCFS_PATH = saved
    return int(vm.total), int(vm.available)


def _cpu_count(sys_root: Path, v2_dir: Path | None) -> int | None:
    """CPUs this process may use: the cgroup v2 ``cpu.max`` quota when set, else affinity."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count()
    if v2_dir is not None:
        parts = (_read(v2_dir / "cpu.max") or "max").split()
        if len(parts) == 2 and parts[0] != "max" and parts[1].isdigit() and int(parts[1]) > 0:
            quota = -(-int(parts[0]) // int(parts[1]))
            count = min(count, quota) if count else quota
    return count


def _shm(dev_root: Path) -> tuple[int | None, int | None]:
    try:
        st = os.statvfs(dev_root / "shm")
    except OSError:
        return None, None
    return st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize


def _hostname(proc_root: Path) -> str:
    return _read(proc_root / "sys" / "kernel" / "hostname") or socket.gethostname()


# --------------------------------------------------------------------------- GPUs


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _gpus(nvml: Any) -> tuple[list[GPU], str | None, str | None, list[str]]:
    """Query NVML; any failure is a note, never an exception."""
    if nvml is None:
        try:
            import pynvml as nvml  # nvidia-ml-py
        except ImportError:
            return (
                [],
                None,
                None,
                ["NVML not available (nvidia-ml-py is not installed): no GPUs probed"],
            )
    error = getattr(nvml, "NVMLError", Exception)
    try:
        nvml.nvmlInit()
    except Exception as exc:  # NVMLError_LibraryNotFound, _DriverNotLoaded, OSError...
        return [], None, None, [f"no NVIDIA driver (NVML init failed: {exc}): no GPUs probed"]
    gpus: list[GPU] = []
    notes: list[str] = []
    driver = cuda = None
    try:
        try:
            driver = _text(nvml.nvmlSystemGetDriverVersion())
            v = int(nvml.nvmlSystemGetCudaDriverVersion())
            cuda = f"{v // 1000}.{v % 1000 // 10}"
        except error as exc:
            notes.append(f"NVML: driver/CUDA version unavailable: {exc}")
        for i in range(int(nvml.nvmlDeviceGetCount())):
            try:
                h = nvml.nvmlDeviceGetHandleByIndex(i)
                mem = nvml.nvmlDeviceGetMemoryInfo(h)
                name, uuid = _text(nvml.nvmlDeviceGetName(h)), _text(nvml.nvmlDeviceGetUUID(h))
            except error as exc:
                notes.append(f"NVML: GPU {i} skipped: {exc}")
                continue
            try:
                current = nvml.nvmlDeviceGetMigMode(h)[0]
                mig = (
                    "enabled"
                    if current == getattr(nvml, "NVML_DEVICE_MIG_ENABLE", 1)
                    else "disabled"
                )
            except error:
                mig = None  # not a MIG-capable GPU
            gpus.append(
                GPU(
                    index=i,
                    name=name,
                    uuid=uuid,
                    memory_total_bytes=int(mem.total),
                    memory_free_bytes=int(mem.free),
                    mig_mode=mig,
                )
            )
    except error as exc:
        notes.append(f"NVML query failed: {exc}")
    finally:
        try:
            nvml.nvmlShutdown()
        except error:
            pass
    return gpus, driver, cuda, notes


# --------------------------------------------------------------------------- API


def probe(
    *,
    proc_root: str | Path = "/proc",
    sys_root: str | Path = "/sys",
    dev_root: str | Path = "/dev",
    nvml: Any = None,
) -> HardwareSnapshot:
    """Probe this machine (or fake trees and a fake NVML module in tests)."""
    proc, sysr = Path(proc_root), Path(sys_root)
    gpus, driver, cuda, notes = _gpus(nvml)
    total, available = _meminfo(proc)
    cg = cgroup_memory(proc, sysr)
    if not cg.get("cgroup_version"):
        notes.append("no memory cgroup found: host headroom is psutil's available memory")
    v2_dir = None
    if cg.get("cgroup_version") == 2:
        found = _locate(proc, sysr)
        v2_dir = found[2] if found else None
    shm_total, shm_free = _shm(Path(dev_root))
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if gpus and visible is not None:
        notes.append(f"CUDA_VISIBLE_DEVICES={visible} is set; NVML lists every GPU")
    host = HostMemory(
        memory_total_bytes=total,
        memory_available_bytes=available,
        cpu_count=_cpu_count(sysr, v2_dir),
        shm_total_bytes=shm_total,
        shm_free_bytes=shm_free,
        **cg,
    )
    return HardwareSnapshot(
        hostname=_hostname(proc),
        gpus=gpus,
        host=host,
        driver_version=driver,
        cuda_version=cuda,
        notes=notes,
        source="probe",
    )


def load_snapshot(path: str | Path) -> HardwareSnapshot:
    """Read a ``probe --json`` snapshot; InputError ``file: key.path: message`` when bad."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(where(p, "no such hardware snapshot")) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(where(p, f"cannot read: {exc}")) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(where(p, f"invalid JSON: {exc.msg}", line=exc.lineno)) from None
    if not isinstance(data, dict):
        raise InputError(where(p, "expected a JSON object (a probe --json snapshot)"))
    from pydantic import ValidationError

    try:
        snap = HardwareSnapshot.model_validate(data)
    except ValidationError as exc:
        raise InputError(format_validation_error(exc, p)) from None
    return snap.model_copy(update={"source": str(p)})


def snapshot_json(snapshot: HardwareSnapshot) -> str:
    """The snapshot as written by ``probe --json`` (stable key order, trailing newline)."""
    return json.dumps(snapshot.model_dump(mode="json"), indent=2) + "\n"


def _sglang_counts_file_cache(version: str | None) -> bool:
    try:
        return tuple(int(x) for x in (version or "0").split(".")[:3]) >= (0, 5, 23)
    except ValueError:
        return False


def host_headroom_bytes(snapshot: HardwareSnapshot, *, sglang_version: str | None = None) -> int:
    """``min(available DRAM, cgroup limit − usage)``, never negative.

    SGLang 0.5.23 counts the cgroup's active/inactive file page cache as free; pass
    ``sglang_version="0.5.23"`` to do the same (0.5.21 does not).
    """
    host = snapshot.host
    headroom = host.memory_available_bytes
    if host.cgroup_limit_bytes is not None:
        usage = host.cgroup_usage_bytes or 0
        if _sglang_counts_file_cache(sglang_version) and host.cgroup_file_bytes:
            usage = max(0, usage - host.cgroup_file_bytes)
        headroom = min(headroom, host.cgroup_limit_bytes - usage)
    return max(0, headroom)
