"""Sizing arithmetic against hand calculations written out from the reference formulas
(sglang-hicache.md §3.1–§3.4)."""

from __future__ import annotations

import pytest

from hicachectl import sizing
from hicachectl.errors import InfeasibleError
from hicachectl.models import GB, GiB

MiB = 1 << 20
H100_TOTAL = 81559 * MiB  # what NVML reports for an H100 SXM 80GB
LLAMA8B_KV = 8 * (128 + 128) * 32 * 2  # kv heads × (k + v dims) × layers × bf16 = 131072


def test_gpu_memory_classes():
    assert sizing.gpu_memory_defaults(16 * 1024, 1) == (2048, 8)
    assert sizing.gpu_memory_defaults(24 * 1024, 1) == (4096, 48)
    assert sizing.gpu_memory_defaults(24 * 1024, 4) == (4096, 160)
    assert sizing.gpu_memory_defaults(46068, 1) == (4096, 32)  # L40S 48 GB
    assert sizing.gpu_memory_defaults(81559, 1) == (8192, 256)
    assert sizing.gpu_memory_defaults(81559, 8) == (8192, 512)
    assert sizing.gpu_memory_defaults(143771, 8) == (8192, 512)  # H200
    assert sizing.gpu_memory_defaults(183359, 8) == (16384, 512)  # B200


def test_prefill_graph_sizes_count():
    # 4..32 step 4 (8) + 48..256 step 16 (14) + 288..512 step 32 (8) + 576..1024 step 64 (8)
    # + 1280..4096 step 256 (12) + 4608..8192 step 512 (8)
    assert len(sizing.prefill_graph_sizes(8192)) == 8 + 14 + 8 + 8 + 12 + 8
    assert sizing.prefill_graph_sizes(30) == [4, 8, 12, 16, 20, 24, 28]


def test_default_mem_fraction_h100_tp1_mha():
    mf = sizing.default_mem_fraction_static(H100_TOTAL, tp=1, pp=1, role="worker", mla=False)
    graph = 256 * 2 + 58 * 8  # decode graph + prefill graph sizes
    reserved = 512 + 8192 * 1.5 + 1 * 1 / 8 * 1024 + graph
    assert mf.reserved_mib == pytest.approx(reserved)
    assert mf.value == round((81559 - reserved) / 81559, 3) == 0.83  # 67655 / 81559 = 0.8295


def test_default_mem_fraction_floor_and_roles():
    # H100, tp8, MLA prefill: 512 + 12288 + 1024 + 1536 = 15360 (> 10240 floor)
    mf = sizing.default_mem_fraction_static(H100_TOTAL, tp=8, role="prefill", mla=True)
    assert mf.reserved_mib == 512 + 8192 * 1.5 + 8 / 8 * 1024 + 1536
    # decode server: activation = max(running (graph bs 256), 2048) = 2048 → 512+3072+128+512
    # = 4224, below the 10 GiB floor on a GPU over 60 GiB
    mf = sizing.default_mem_fraction_static(H100_TOTAL, tp=1, role="decode")
    assert mf.reserved_mib == 10 * 1024
    assert mf.value == round((81559 - 10240) / 81559, 3)
    # a small GPU has no floor: 16 GiB, chunk 2048, bs 8 → 512 + 3072 + 128 + 16 + 8·(sizes ≤ 2048)
    small = sizing.default_mem_fraction_static(16 * GiB, tp=1)
    n = len(sizing.prefill_graph_sizes(2048))
    assert small.reserved_mib == 512 + 3072 + 128 + 16 + n * 8


def test_device_tokens_formula():
    free = 79 * GiB
    weights = 16_060_522_496  # Llama-3.1-8B bf16
    mfs = 0.829
    # rest = (free − weights) − free × (1 − mfs), in GiB; tokens floored to page 64
    rest = (79 - weights / GiB) - 79 * (1 - mfs)
    expect = int(rest * GiB) // LLAMA8B_KV // 64 * 64
    got = sizing.device_tokens(
        free_bytes=free,
        mem_fraction_static=mfs,
        weight_bytes_per_rank=weights,
        kv_bytes_per_token=LLAMA8B_KV,
        page_size=64,
    )
    assert got == expect
    assert got % 64 == 0
    capped = sizing.device_tokens(
        free_bytes=free,
        mem_fraction_static=mfs,
        weight_bytes_per_rank=weights,
        kv_bytes_per_token=LLAMA8B_KV,
        page_size=64,
        max_total_tokens=100_000,
    )
    # the cap is re-aligned to the page, as SGLang re-derives a capped pool: 1562 pages
    assert capped == 100_000 // 64 * 64 == 99_968


def _tokens(weights: int, mfs: float) -> int:
    return sizing.device_tokens(
        free_bytes=79 * GiB,
        mem_fraction_static=mfs,
        weight_bytes_per_rank=weights,
        kv_bytes_per_token=LLAMA8B_KV,
        page_size=1,
        what="worker-0",
    )


def test_device_tokens_weights_too_big_names_numbers():
    with pytest.raises(InfeasibleError) as exc:
        _tokens(141 * GB, 0.8)
    assert str(exc.value) == (
        "worker-0: weights of 131.3 GiB per rank exceed the 79.0 GiB free on its GPU "
        "(raise --tp or --pp, or use larger GPUs)"
    )
    # fits in free memory but not under the fraction: 79 × 0.7 = 55.3 GiB < 60 GiB;
    # the minimum viable fraction is 1 − (79 − 60) / 79 = 0.759
    with pytest.raises(InfeasibleError) as exc:
        _tokens(60 * GiB, 0.7)
    assert "79.0 GiB free × --mem-fraction-static 0.700 = 55.3 GiB" in str(exc.value)
    assert "minimum viable fraction 0.759" in str(exc.value)


def test_host_tokens_rounding():
    # int(100e9 // 131072) = 762939 → (762939 // 64 + 1) × 64 = 762944
    assert sizing.host_tokens_for_size(100, LLAMA8B_KV, 64) == 762944
    # ratio: int(1000 × 2.0) = 2000 → (2000 // 64 + 1) × 64 = 2048; page 1: 2001
    assert sizing.host_tokens_for_ratio(1000, 2.0, 64) == 2048
    assert sizing.host_tokens_for_ratio(1000, 2.0, 1) == 2001


def test_largest_size_fits_exactly():
    kv, idx, page = 70272, 8448, 64  # DeepSeek MLA 61 layers × 1152 B, indexer 64 × 132
    budget = 150 * GB
    size = sizing.largest_hicache_size_gb(budget, kv, page, idx)
    used = sizing.host_bytes(sizing.host_tokens_for_size(size, kv, page), kv, idx)
    over = sizing.host_bytes(sizing.host_tokens_for_size(size + 1, kv, page), kv, idx)
    assert used <= budget < over
    # without the indexer: the plain estimate floor(150e9 / 1e9) minus the padding page
    assert sizing.largest_hicache_size_gb(150 * GB, LLAMA8B_KV, 64) == 149
    assert sizing.largest_hicache_size_gb(int(0.5 * GB), LLAMA8B_KV, 64) == 0


def test_decode_backup_pool():
    # 0.2 × 500000 = 100000 ≥ context 131072 − 1 aligned to 64 = 131072? no: 131072 > 100000,
    # so the ratio rises to 131072 / 500000 and the pool holds one max-length request
    assert sizing.decode_backup_tokens(500_000, 131_072, 64) == (131072 // 64 + 1) * 64
    # a big device pool: 0.2 wins: int(2_000_000 × 0.2) = 400000 → (6250 + 1) × 64
    assert sizing.decode_backup_tokens(2_000_000, 32_768, 64) == 400_064


def test_host_budget_cgroup_and_reserve():
    avail = sizing.host_available_bytes(1900 * GiB, 400 * GiB, 20 * GiB)
    assert avail == 380 * GiB
    assert sizing.host_available_bytes(1900 * GiB, None, None) == 1900 * GiB
    assert sizing.host_budget_bytes(380 * GiB, 0.8) == int((380 - 10) * GiB * 0.8)
    assert sizing.host_budget_bytes(8 * GiB, 0.8) == 0
    with pytest.raises(ValueError):
        sizing.host_budget_bytes(100 * GiB, 1.5)


def test_over_budget_message():
    msg = sizing.over_budget_message("--hicache-size 120 GB × 8 ranks", 960 * GB, 742 * GB)
    assert msg == (
        "--hicache-size 120 GB × 8 ranks = 960.0 GB > 742.0 GB host budget "
        "(over by 218.0 GB, 29.4 %)"
    )


# SGLang's default --mem-fraction-static, worked by hand from memory_hook.py of the 0.5.21
# and 0.5.23 wheels: reserved = 512 + activation×1.5 + tp×pp/8×1024 + decode bs×2 + 8 per
# prefill graph size (1.5 GiB on MLA), ≥ 10 GiB over 60 GiB; round((MiB − reserved)/MiB, 3).
@pytest.mark.parametrize(
    ("mib", "kwargs", "reserved", "value"),
    [
        # T4 16 GB: chunk 2048, bs 8; sizes ≤ 2048: 8+14+8+8+4 = 42 → 512+3072+128+16+336
        (15360, {}, 4064, 0.735),
        # 24 GB, tp 4: chunk 4096, bs 160; 50 sizes → 512+6144+512+320+400
        (24576, {"tp": 4}, 7888, 0.679),
        # L40S 48 GB: chunk 4096, bs 32 → 512+6144+128+64+400
        (46068, {}, 7248, 0.843),
        # H200, tp 8: chunk 8192, bs 512; 58 sizes → 512+12288+1024+1024+464
        (143771, {"tp": 8}, 15312, 0.893),
        # H100 with --max-total-tokens 1000: prefill graph up to 1000 tokens, 37 sizes
        (81559, {"max_total_tokens": 1000}, 512 + 12288 + 128 + 512 + 296, 0.832),
        # H100, pp 2: no prefill graph by default → 512+12288+256+512
        (81559, {"pp": 2}, 13568, 0.834),
        # model path naming llama-2: prefill graph capped at 4096 tokens, 50 sizes
        (81559, {"model_path": "/m/Llama-2-7b-hf"}, 512 + 12288 + 128 + 512 + 400, 0.83),
        # decode server, --max-running-requests 8192: activation 8192 → 512+12288+128+512
        (81559, {"role": "decode", "max_running_requests": 8192}, 13440, 0.835),
        # --max-running-requests 64 on 0.5.21: decode graph bs stays 256 → 13904
        (81559, {"max_running_requests": 64}, 13904, 0.83),
        # ... on 0.5.23 the defaulted decode graph bs drops to 64: 13904 − 512 + 128
        (81559, {"max_running_requests": 64, "sglang_version": "0.5.23"}, 13520, 0.834),
        # 0.5.22 already has that cap (its memory_hook.py matches 0.5.23's there)
        (81559, {"max_running_requests": 64, "sglang_version": "0.5.22"}, 13520, 0.834),
        # B200, MLA prefill server: chunk 16384, no decode graph, 1.5 GiB prefill graph
        (183359, {"role": "prefill", "mla": True, "tp": 8}, 512 + 24576 + 1024 + 1536, 0.849),
    ],
)
def test_default_mem_fraction_matches_sglangs_hook(mib, kwargs, reserved, value):
    mf = sizing.default_mem_fraction_static(mib * MiB, **kwargs)
    assert mf.reserved_mib == pytest.approx(reserved)
    assert mf.value == round((mib - reserved) / mib, 3) == value


def test_default_mem_fraction_reads_whole_mib():
    # nvidia-smi prints whole MiB: 81559.9 MiB of bytes counts as 81559
    assert sizing.default_mem_fraction_static(81559 * MiB + MiB - 1).gpu_mem_mib == 81559
