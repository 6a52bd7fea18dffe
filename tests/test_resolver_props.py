"""Property test: any combination of HiCache-relevant values, on either version, for any model
kind or none, with or without a named GPU, resolves without an exception, stops at most once,
and never leaves a combination SGLang itself would have rewritten.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hicachectl.models import ModelFacts
from hicachectl.sglang import messages as M
from hicachectl.sglang.flags import sglang_table
from hicachectl.sglang.resolver import HICACHE_FIELDS, resolve_values

CHOICE_FIELDS = (
    "hicache_host_memory_mode",
    "hicache_write_policy",
    "hicache_io_backend",
    "hicache_mem_layout",
    "hicache_storage_backend",
    "disaggregation_mode",
    "disaggregation_decode_retraction_backup",
    "attention_backend",
    "decode_attention_backend",
    "kv_cache_dtype",
)
BOOL_FIELDS = (
    "enable_hierarchical_cache",
    "disable_radix_cache",
    "enable_lmcache",
    "enable_unified_memory",
    "disaggregation_decode_enable_radix_cache",
    "disaggregation_decode_enable_offload_kvcache",
    "enable_unified_cache_external_linker",
)
MODELS = [
    None,
    ModelFacts(attention="mha", architecture="LlamaForCausalLM"),
    ModelFacts(attention="mla", architecture="DeepseekV2ForCausalLM"),
    ModelFacts(attention="dsa", architecture="DeepseekV32ForCausalLM"),
]


@st.composite
def cases(draw):
    version = draw(st.sampled_from(["0.5.21", "0.5.23"]))
    table = sglang_table(version)
    values = dict(table.defaults())
    for f in CHOICE_FIELDS:
        choices = (
            [None, *table.by_dest[f].choices]
            if table.by_dest[f].default is None
            else list(table.by_dest[f].choices)
        )
        if draw(st.booleans()):
            values[f] = draw(st.sampled_from(choices))
    for f in BOOL_FIELDS:
        values[f] = draw(st.booleans())
    values["hicache_ratio"] = draw(st.sampled_from([None, 0.5, 2.0]))
    values["hicache_size"] = draw(st.sampled_from([0, 30]))
    values["hicache_host_memory_fraction"] = draw(st.sampled_from([None, 0.0, 0.5, 1.0, 1.5]))
    values["page_size"] = draw(st.sampled_from([None, 1, 16, 32, 64, 128]))
    values["dcp_size"] = draw(st.sampled_from([1, 2]))
    values["disaggregation_decode_host_receive_threshold"] = draw(st.sampled_from([0.0, 0.5, 1.0]))
    model = draw(st.sampled_from(MODELS))
    gpu = draw(st.sampled_from([None, 80, 90, 100, 120]))
    return version, values, model, gpu


@settings(max_examples=400, deadline=None)
@given(cases())
def test_resolves_without_exceptions(case):
    version, values, model, gpu = case
    res = resolve_values(values, explicit=[], sglang_version=version, model=model, gpu_sm=gpu)
    assert len(res.errors) <= 1
    assert all(f in res.resolved for f in HICACHE_FIELDS)
    assert all(M.relevant(line) for line in res.logs)
    assert all(r.rule for r in res.rewrites)
    if res.errors:
        return
    r = res.resolved
    assert isinstance(r["page_size"], int)
    if r["enable_hierarchical_cache"] and not r["enable_unified_cache_external_linker"]:
        pair = (r["hicache_mem_layout"], r["hicache_io_backend"])
        assert pair not in {("page_first", "direct"), ("page_first_direct", "kernel")}
        assert not r["disable_radix_cache"]
    if r["disaggregation_mode"] != "decode":
        assert r["hicache_ratio"] is not None
