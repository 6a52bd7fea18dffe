"""The machine: GPUs through NVML, host memory through psutil and the process's cgroup.

The only module that touches pynvml, psutil, /proc, /sys, cgroups and /dev/shm.  Every
other verb reads a :class:`~hicachectl.models.HardwareSnapshot`, either from :func:`probe`
or from a JSON file through :func:`load_snapshot`, so tests reach every path with fake
``proc_root``/``sys_root``/``dev_root`` trees and a fake NVML object.

Host headroom is what SGLang's HiCache budget starts from (reference §3.4):
``min(psutil available, cgroup limit − usage)``, where the cgroup part is the tightest
``limit − usage`` of any cgroup from the process's own up to the mount root (the walk lives
in :mod:`hicachectl.probe_cgroup`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hicachectl.errors import InputError, format_validation_error
from hicachectl.models import GPU, HardwareSnapshot, HostMemory

# --------------------------------------------------------------------------- small readers


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


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


def _cpu_count(v2_dir: Path | None) -> int | None:
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
    import socket

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
            if mig == "enabled":
                notes.append(
                    f"GPU {i} has MIG enabled: the memory shown is the whole GPU, "
                    "not the instance SGLang would run on"
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
    try:
        total, available = _meminfo(proc)
    except (OSError, KeyError, ValueError) as exc:
        total = available = 0
        notes.append(f"cannot read host memory ({exc}): host DRAM reported as 0")
    from hicachectl.probe_cgroup import read_cgroups

    cg = read_cgroups(proc, sysr)
    notes.extend(cg.notes)
    if cg.version is None and not cg.notes:
        notes.append("no memory cgroup found: host headroom is psutil's available memory")
    shm_total, shm_free = _shm(Path(dev_root))
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if gpus and visible is not None:
        notes.append(f"CUDA_VISIBLE_DEVICES={visible} is set; NVML lists every GPU")
    host = HostMemory(
        memory_total_bytes=total,
        memory_available_bytes=available,
        cpu_count=_cpu_count(cg.v2_dir),
        shm_total_bytes=shm_total,
        shm_free_bytes=shm_free,
        **cg.fields(),
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
    from pydantic import ValidationError

    from hicachectl.jsonfile import load_json_object

    p = Path(path)
    data = load_json_object(p, what="a probe --json snapshot", missing="no such hardware snapshot")

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

    SGLang 0.5.23 counts the cgroups' active/inactive file page cache as free; pass
    ``sglang_version="0.5.23"`` (or later) to do the same (0.5.21 does not).  The probe
    stores that credit as ``cgroup_file_bytes``.
    """
    host = snapshot.host
    headroom = host.memory_available_bytes
    if host.cgroup_limit_bytes is not None:
        usage = host.cgroup_usage_bytes or 0
        if _sglang_counts_file_cache(sglang_version) and host.cgroup_file_bytes:
            usage = max(0, usage - host.cgroup_file_bytes)
        headroom = min(headroom, host.cgroup_limit_bytes - usage)
    return max(0, headroom)
