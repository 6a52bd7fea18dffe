"""The probe on fake /proc + /sys trees and a fake NVML module; snapshots in and out."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from hicachectl.errors import InputError
from hicachectl.models import GiB
from hicachectl.probe import host_headroom_bytes, load_snapshot, probe, snapshot_json

DATA = Path(__file__).resolve().parent / "data" / "probe"
ROOT = Path(__file__).resolve().parent.parent
HARDWARE = sorted((ROOT / "profiles" / "hardware").glob("*.json"))
H100_TOTAL = 85_520_809_984


class FakeNVML:
    """Just the NVML calls the probe makes, scripted per test."""

    NVML_DEVICE_MIG_ENABLE = 1

    class NVMLError(Exception):
        pass

    def __init__(self, gpus, *, init_error=None, mig=None, bad_index=None):
        self.gpus, self.init_error, self.mig, self.bad_index = gpus, init_error, mig, bad_index
        self.shutdown = False

    def nvmlInit(self):
        if self.init_error:
            raise self.init_error

    def nvmlShutdown(self):
        self.shutdown = True

    def nvmlSystemGetDriverVersion(self):
        return b"560.35.03"

    def nvmlSystemGetCudaDriverVersion(self):
        return 12060

    def nvmlDeviceGetCount(self):
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i):
        if i == self.bad_index:
            raise self.NVMLError("GPU is lost")
        return i

    def nvmlDeviceGetName(self, h):
        return self.gpus[h][0].encode()

    def nvmlDeviceGetUUID(self, h):
        return f"GPU-{h:08d}"

    def nvmlDeviceGetMemoryInfo(self, h):
        _, total, free = self.gpus[h]
        return SimpleNamespace(total=total, free=free, used=total - free)

    def nvmlDeviceGetMigMode(self, h):
        if self.mig is None or self.mig[h] is None:
            raise self.NVMLError("Not Supported")
        return (self.mig[h], self.mig[h])


def fake_probe(tree: str | Path, nvml=None):
    base = DATA / tree if isinstance(tree, str) else tree
    return probe(
        proc_root=base / "proc",
        sys_root=base / "sys",
        dev_root=base / "dev",
        nvml=nvml or FakeNVML([]),
    )


# --------------------------------------------------------------------------- cgroups


def test_v2_pod_binds_at_pod_level_not_node_or_container():
    s = fake_probe("v2-pod")
    h = s.host
    assert s.hostname == "trainer-7f3a-0"
    assert (h.memory_total_bytes, h.memory_available_bytes) == (
        2113442012 * 1024,
        1874920448 * 1024,
    )
    assert (h.cgroup_version, h.cgroup_limit_kind) == (2, "memory.max")
    assert (h.cgroup_limit_bytes, h.cgroup_usage_bytes) == (400 * GiB, 120 * GiB)
    assert h.cgroup_file_bytes == 18 * GiB  # active_file + inactive_file of the pod
    assert h.cgroup_path.endswith("cri-containerd-4b1c.scope")
    assert 1 <= h.cpu_count <= 32  # cpu.max 3200000/100000
    assert host_headroom_bytes(s) == 280 * GiB  # 400 − 120 < available
    assert host_headroom_bytes(s, sglang_version="0.5.21") == 280 * GiB
    assert host_headroom_bytes(s, sglang_version="0.5.23") == 298 * GiB  # file cache is free


def test_v2_memory_high_tighter_than_max():
    s = fake_probe("v2-high")
    assert (s.host.cgroup_limit_kind, s.host.cgroup_limit_bytes) == ("memory.high", 48 * GiB)
    assert s.host.cgroup_usage_bytes == 8 * GiB
    assert host_headroom_bytes(s) == 40 * GiB


def test_v1_docker_ignores_unlimited_sentinel_and_reads_total_file():
    s = fake_probe("v1-docker")
    h = s.host
    assert (h.cgroup_version, h.cgroup_limit_kind) == (1, "memory.limit_in_bytes")
    assert (h.cgroup_limit_bytes, h.cgroup_usage_bytes) == (128 * GiB, 20 * GiB)
    assert h.cgroup_file_bytes == 8 * GiB  # total_active_file + total_inactive_file
    assert host_headroom_bytes(s) == 108 * GiB
    assert host_headroom_bytes(s, sglang_version="0.5.23") == 116 * GiB


def test_no_cgroup_is_a_note_and_headroom_is_available():
    s = fake_probe("no-cgroup")
    assert s.host.cgroup_limit_bytes is None and s.host.cgroup_version is None
    assert any("no memory cgroup found" in n for n in s.notes)
    assert host_headroom_bytes(s) == 20_000_000 * 1024
    assert s.host.shm_total_bytes is None  # no dev/shm in this tree


def _tree(tmp_path: Path, cgroup_line: str, mount: str, files: dict[str, str]) -> Path:
    (tmp_path / "proc/self").mkdir(parents=True)
    (tmp_path / "proc/meminfo").write_text((DATA / "v2-high/proc/meminfo").read_text())
    (tmp_path / "proc/self/cgroup").write_text(cgroup_line + "\n")
    (tmp_path / "proc/self/mountinfo").write_text(mount + "\n")
    (tmp_path / "dev/shm").mkdir(parents=True)
    for rel, text in files.items():
        p = tmp_path / "sys/fs/cgroup" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text + "\n")
    return tmp_path


V2_MOUNT = "31 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw"


def test_parent_with_less_headroom_binds_even_with_a_larger_limit(tmp_path):
    # parent: 100 GiB limit, 95 GiB used by siblings; child: 50 GiB limit, 10 GiB used
    tree = _tree(
        tmp_path,
        "0::/a/b",
        V2_MOUNT,
        {
            "a/memory.max": str(100 * GiB),
            "a/memory.current": str(95 * GiB),
            "a/b/memory.max": str(50 * GiB),
            "a/b/memory.high": "max",
            "a/b/memory.current": str(10 * GiB),
        },
    )
    s = fake_probe(tree)
    assert (s.host.cgroup_limit_bytes, s.host.cgroup_usage_bytes) == (100 * GiB, 95 * GiB)
    assert host_headroom_bytes(s) == 5 * GiB
    assert s.host.shm_total_bytes > 0  # statvfs of the fake dev/shm directory


def test_all_max_means_no_limit(tmp_path):
    tree = _tree(
        tmp_path,
        "0::/a",
        V2_MOUNT,
        {"a/memory.max": "max", "a/memory.high": "max", "a/memory.current": "123"},
    )
    s = fake_probe(tree)
    assert (s.host.cgroup_version, s.host.cgroup_limit_bytes) == (2, None)
    assert host_headroom_bytes(s) == s.host.memory_available_bytes


def test_v1_inside_a_cgroup_namespace(tmp_path):
    # The container sees its own cgroup as the mount root: read the mount directory itself.
    tree = _tree(
        tmp_path,
        "9:memory:/docker/abc",
        "40 30 0:30 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory",
        {
            "memory/memory.limit_in_bytes": str(16 * GiB),
            "memory/memory.usage_in_bytes": str(20 * GiB),  # over the limit (page cache)
        },
    )
    s = fake_probe(tree)
    assert (s.host.cgroup_version, s.host.cgroup_limit_bytes) == (1, 16 * GiB)
    assert host_headroom_bytes(s) == 0  # never negative


# --------------------------------------------------------------------------- NVML


def test_fake_nvml_gpus():
    nvml = FakeNVML(
        [
            ("NVIDIA H100 80GB HBM3", H100_TOTAL, 84_940_947_456),
            ("NVIDIA A100-SXM4-80GB", 85_899_345_920, 85_000_000_000),
            ("NVIDIA L40S", 48_305_799_168, 47_810_740_224),
        ],
        mig=[0, 1, None],
    )
    s = fake_probe("v2-high", nvml)
    assert [g.index for g in s.gpus] == [0, 1, 2]
    g0 = s.gpus[0]
    assert (g0.name, g0.uuid, g0.memory_total_bytes, g0.memory_free_bytes) == (
        "NVIDIA H100 80GB HBM3",
        "GPU-00000000",
        H100_TOTAL,
        84_940_947_456,
    )
    assert [g.mig_mode for g in s.gpus] == ["disabled", "enabled", None]  # NVMLError → None
    assert (s.driver_version, s.cuda_version) == ("560.35.03", "12.6")
    assert nvml.shutdown
    assert s.notes == [
        "GPU 1 has MIG enabled: the memory shown is the whole GPU, not the instance SGLang "
        "would run on"
    ]


def test_nvml_init_failure_is_one_note():
    nvml = FakeNVML([], init_error=FakeNVML.NVMLError("Driver Not Loaded"))
    s = fake_probe("v2-high", nvml)
    assert s.gpus == []
    assert s.notes == ["no NVIDIA driver (NVML init failed: Driver Not Loaded): no GPUs probed"]


def test_one_lost_gpu_is_skipped_with_a_note():
    nvml = FakeNVML([("NVIDIA H200", 150_754_820_096, 150_118_334_464)] * 2, bad_index=0)
    s = fake_probe("v2-high", nvml)
    assert [g.index for g in s.gpus] == [1]
    assert s.notes == ["NVML: GPU 0 skipped: GPU is lost"]


def test_missing_library_is_a_note(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml → ImportError
    s = probe(proc_root=DATA / "v2-high/proc", sys_root=DATA / "v2-high/sys")
    assert s.gpus == []
    assert s.notes[0] == "NVML not available (nvidia-ml-py is not installed): no GPUs probed"


# --------------------------------------------------------------------------- snapshots


def test_snapshot_round_trip(tmp_path):
    nvml = FakeNVML([("NVIDIA H100 80GB HBM3", H100_TOTAL, 84_940_947_456)], mig=[0])
    s = fake_probe("v2-pod", nvml)
    path = tmp_path / "snap.json"
    path.write_text(snapshot_json(s))
    back = load_snapshot(path)
    assert back.source == str(path)
    assert back.model_dump(exclude={"source"}) == s.model_dump(exclude={"source"})


@pytest.mark.parametrize("path", HARDWARE, ids=lambda p: p.stem)
def test_bundled_snapshots(cli, path):
    r = cli("probe", "--hardware", path, "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert set(data) >= {"hostname", "gpus", "host"}
    assert set(data["host"]) >= {
        "memory_total_bytes",
        "memory_available_bytes",
        "cgroup_limit_bytes",
        "cgroup_usage_bytes",
    }
    for g in data["gpus"]:
        assert set(g) >= {"index", "name", "memory_total_bytes", "memory_free_bytes"}
        assert 0.98 * g["memory_total_bytes"] < g["memory_free_bytes"] < g["memory_total_bytes"]
    snap = load_snapshot(path)
    assert snap.host.memory_available_bytes < snap.host.memory_total_bytes


def test_bundled_snapshot_numbers():
    by = {p.stem: load_snapshot(p) for p in HARDWARE}
    assert {
        "h100-sxm-8x-2tb",
        "h200-8x-2tb",
        "l40s-1x-128g",
        "k8s-pod-400gi-8xh100",
        "dev-h100-1x",
    } <= set(by)
    assert [g.memory_total_bytes for g in by["h100-sxm-8x-2tb"].gpus] == [H100_TOTAL] * 8
    assert [g.memory_total_bytes for g in by["h200-8x-2tb"].gpus] == [150_754_820_096] * 8
    assert [g.memory_total_bytes for g in by["l40s-1x-128g"].gpus] == [48_305_799_168]
    assert len(by["dev-h100-1x"].gpus) == 1
    assert 2.0e12 < by["h100-sxm-8x-2tb"].host.memory_total_bytes < 2.2e12
    pod = by["k8s-pod-400gi-8xh100"]
    assert pod.host.cgroup_limit_bytes == 400 * GiB
    assert host_headroom_bytes(pod) == 400 * GiB - pod.host.cgroup_usage_bytes


def _bad(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "snap.json"
    p.write_text(text)
    return p


GOOD = json.loads((ROOT / "profiles/hardware/l40s-1x-128g.json").read_text())


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.pop("hostname"), "snap.json: hostname: Field required"),
        (
            lambda d: d["gpus"][0].update(memory_total_bytes="lots"),
            "snap.json: gpus.0.memory_total_bytes: Input should be a valid integer, unable to parse string as an integer",
        ),
        (
            lambda d: d["host"].update(memory_available_bytes=-1),
            "snap.json: host.memory_available_bytes: Input should be greater than or equal to 0",
        ),
        (
            lambda d: d["host"].update(dram=1),
            "snap.json: host.dram: Extra inputs are not permitted",
        ),
        (
            lambda d: d.update(host=None),
            "snap.json: host: Input should be a valid dictionary or instance of HostMemory",
        ),
    ],
)
def test_malformed_snapshot_names_the_key(cli, tmp_path, mutate, expected):
    data = json.loads(json.dumps(GOOD))
    mutate(data)
    path = _bad(tmp_path, json.dumps(data))
    r = cli("probe", "--hardware", path)
    assert r.exit_code == 2, r.output
    assert r.stderr.splitlines() == [f"hicachectl: {tmp_path}/{expected}"]
    assert r.stdout == ""


def test_bad_json_names_the_line(cli, tmp_path):
    path = _bad(tmp_path, '{\n  "hostname": "x",\n  "gpus": [,]\n}\n')
    r = cli("probe", "--hardware", path, "--json")
    assert r.exit_code == 2
    assert r.stderr.startswith(f"hicachectl: {path}:3: invalid JSON")
    with pytest.raises(InputError, match="expected a JSON object"):
        load_snapshot(_bad(tmp_path, "[]"))
    with pytest.raises(InputError, match="no such hardware snapshot"):
        load_snapshot(tmp_path / "missing.json")


# --------------------------------------------------------------------------- the verb


def test_probe_json_on_this_machine(cli):
    r = cli("probe", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert isinstance(data["hostname"], str) and isinstance(data["gpus"], list)
    assert data["host"]["memory_total_bytes"] > 0


def test_probe_text(cli):
    r = cli("probe", "--hardware", ROOT / "profiles/hardware/k8s-pod-400gi-8xh100.json")
    assert r.exit_code == 0, r.output
    assert "sglang-decode-7f9c6d5b8-x2lqp" in r.stdout
    assert "400.0 GiB" in r.stdout and "memory.max" in r.stdout


def test_output_is_written_atomically(cli, tmp_path, monkeypatch):
    out = tmp_path / "snap.json"
    src = ROOT / "profiles/hardware/h200-8x-2tb.json"
    r = cli("probe", "--hardware", src, "--output", out)
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["hostname"] == "h200-node-01"
    # A failure mid-way leaves the old file intact and no temporary file behind.
    out.write_text("previous contents")
    import os

    def boom(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    r = cli("probe", "--hardware", src, "--output", out)
    assert r.exit_code == 2
    assert r.stderr.strip() == f"hicachectl: {out}: cannot write: No space left on device"
    assert out.read_text() == "previous contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snap.json"]


def test_output_into_missing_directory(cli, tmp_path):
    out = tmp_path / "nope" / "snap.json"
    r = cli("probe", "--output", out)
    assert r.exit_code == 2
    assert str(out) in r.stderr and "Traceback" not in r.output
    assert not out.exists()


# --------------------------------------------------------------------------- 0.5.23 page cache


def test_cache_credit_can_move_the_binding_level(tmp_path):
    # leaf: 30 − 20 = 10 GiB (18 with its 8 GiB of page cache); parent: 100 − 85 = 15 GiB
    tree = _tree(
        tmp_path,
        "0::/a/b",
        V2_MOUNT,
        {
            "a/memory.max": str(100 * GiB),
            "a/memory.current": str(85 * GiB),
            "a/memory.min": "0",
            "a/b/memory.max": str(30 * GiB),
            "a/b/memory.current": str(20 * GiB),
            "a/b/memory.stat": f"anon {12 * GiB}\nactive_file {5 * GiB}\ninactive_file {3 * GiB}",
            "a/b/memory.min": "0",
        },
    )
    s = fake_probe(tree)
    assert (s.host.cgroup_limit_bytes, s.host.cgroup_usage_bytes) == (30 * GiB, 20 * GiB)
    assert host_headroom_bytes(s, sglang_version="0.5.21") == 10 * GiB
    assert host_headroom_bytes(s, sglang_version="0.5.23") == 15 * GiB  # parent binds now
    assert s.host.cgroup_file_bytes == 5 * GiB


@pytest.mark.parametrize("child_min", [str(GiB), None], ids=["protected", "unreadable"])
def test_memory_min_below_blocks_the_cache_credit(tmp_path, child_min):
    files = {
        "a/memory.max": str(50 * GiB),
        "a/memory.current": str(20 * GiB),
        "a/memory.stat": f"active_file {4 * GiB}\ninactive_file {4 * GiB}",
        "a/memory.min": "0",
        "a/sibling/memory.current": str(GiB),
    }
    if child_min is not None:
        files["a/sibling/memory.min"] = child_min
    s = fake_probe(_tree(tmp_path, "0::/a", V2_MOUNT, files))
    assert s.host.cgroup_file_bytes == 0
    assert host_headroom_bytes(s, sglang_version="0.5.23") == 30 * GiB


def test_hybrid_host_takes_the_tightest_of_v1_and_v2(tmp_path):
    mounts = "\n".join(
        [
            "31 25 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw",
            "35 25 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory",
        ]
    )
    files = {
        "memory/job/memory.limit_in_bytes": str(64 * GiB),
        "memory/job/memory.usage_in_bytes": str(4 * GiB),
        "unified/job/memory.max": str(32 * GiB),
        "unified/job/memory.current": str(2 * GiB),
    }
    s = fake_probe(_tree(tmp_path, "9:memory:/job\n0::/job", mounts, files))
    assert (s.host.cgroup_version, s.host.cgroup_limit_kind) == (2, "memory.max")
    assert host_headroom_bytes(s) == 30 * GiB


def test_cgroup_namespace_with_host_side_root(tmp_path):
    # cgroupns: /proc/self/cgroup says "/", mountinfo names the host-side subtree as root
    mount = "31 25 0:26 /kubepods/pod1/ctr /sys/fs/cgroup rw - cgroup2 cgroup2 rw"
    files = {"memory.max": str(8 * GiB), "memory.current": str(GiB)}
    s = fake_probe(_tree(tmp_path, "0::/", mount, files))
    assert (s.host.cgroup_limit_bytes, s.host.cgroup_usage_bytes) == (8 * GiB, GiB)


def test_unlocatable_cgroup_is_a_note(tmp_path):
    mount = "31 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw"
    s = fake_probe(_tree(tmp_path, "0::/gone/away", mount, {"memory.max": "max"}))
    assert s.host.cgroup_limit_bytes is None
    assert any("cannot locate the process memory cgroup" in n for n in s.notes)


def test_unreadable_meminfo_is_a_note(tmp_path):
    tree = _tree(tmp_path, "0::/", V2_MOUNT, {})
    (tree / "proc/meminfo").unlink()
    s = fake_probe(tree)
    assert (s.host.memory_total_bytes, s.host.memory_available_bytes) == (0, 0)
    assert any(n.startswith("cannot read host memory") for n in s.notes)
