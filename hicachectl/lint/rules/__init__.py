"""The explicit rule registry: every lint rule, in code order.

Add a rule by writing a class in a ``<group>_*.py`` module and listing it here.  Codes are
stable and never reused: HC0xx command structure (HC001-HC003 are emitted by the
extractor), HC1xx flag validity, HC2xx SGLang start-up resolution, HC3xx HiCache
semantics, HC4xx memory, HC5xx Dynamo topology.
"""

from __future__ import annotations

from hicachectl.lint.rules import (
    hicache_flags,
    hicache_secrets,
    hicache_storage,
    hicache_upstream,
    memory_host,
    resolver_rules,
    structure_continuation,
    structure_flags,
    topology_frontend,
    topology_gpus,
    topology_ports,
    topology_routing,
    topology_system_port,
    validity_unknown,
    validity_values,
)
from hicachectl.lint.rules.base import DOC_SECTIONS, Rule

RULES: tuple[type[Rule], ...] = (
    structure_continuation.BrokenContinuation,  # HC001
    structure_continuation.DanglingContinuation,  # HC002
    structure_continuation.UnparsableInput,  # HC003
    structure_flags.FlagMissingValue,  # HC010
    structure_flags.RepeatedFlag,  # HC011
    structure_flags.AbbreviatedFlag,  # HC012
    structure_flags.AmbiguousFlag,  # HC013
    structure_flags.RemovedModule,  # HC014
    validity_unknown.UnknownFlag,  # HC101
    validity_values.InvalidChoice,  # HC102
    validity_values.InvalidType,  # HC103
    validity_unknown.FlagNotInVersion,  # HC104
    validity_unknown.RemovedDynamoFlag,  # HC105
    validity_values.MissingRequiredFlag,  # HC106
    validity_values.InvalidConfigFile,  # HC107
    validity_values.ExitsBeforeServing,  # HC108
    resolver_rules.SilentRewrite,  # HC201
    resolver_rules.StartupError,  # HC202
    hicache_flags.HicacheFlagsWithoutHicache,  # HC301
    hicache_flags.HicacheSizeAndRatio,  # HC302
    hicache_flags.HicacheRatioTooLow,  # HC303
    hicache_upstream.WriteBackPolicy,  # HC304
    hicache_flags.StorageOptionWithoutBackend,  # HC305
    hicache_upstream.FileStorageBackend,  # HC306
    hicache_storage.MooncakeWithoutMaster,  # HC307
    hicache_storage.DynamicBackendIncomplete,  # HC308
    hicache_storage.InvalidJsonConfig,  # HC309
    hicache_upstream.PipelineParallelHicache,  # HC310
    hicache_secrets.ApiKeyInCommand,  # HC311
    hicache_storage.Hf3fsMlaWithoutMetadataServer,  # HC312
    memory_host.HostMemoryOverBudget,  # HC401
    memory_host.HostMemoryAbovePlan,  # HC402
    memory_host.K8sMemoryLimitTooSmall,  # HC403
    memory_host.GpuOomRisk,  # HC404
    topology_ports.DuplicateSystemPort,  # HC501
    topology_ports.DuplicateKvEventsPort,  # HC502
    topology_ports.DuplicateBootstrapPort,  # HC503
    topology_ports.SharedGpus,  # HC504
    topology_frontend.SystemPortIsHttpPort,  # HC505
    topology_routing.BlockSizeMismatch,  # HC506
    topology_routing.KvRouterWithoutEvents,  # HC507
    topology_routing.DiscoveryMismatch,  # HC508
    topology_routing.RouterEnvOnWorker,  # HC509
    topology_routing.SharedCacheWithoutMooncake,  # HC510
    topology_frontend.WorkerPortIsHttpPort,  # HC511
    topology_gpus.NotEnoughGpus,  # HC512
    topology_system_port.SystemPortOutOfRange,  # HC513
)

RULES_BY_CODE: dict[str, type[Rule]] = {r.code: r for r in RULES}
RULES_BY_NAME: dict[str, type[Rule]] = {r.name: r for r in RULES}

__all__ = ["DOC_SECTIONS", "RULES", "RULES_BY_CODE", "RULES_BY_NAME", "Rule", "lookup"]


def lookup(code_or_name: str) -> type[Rule] | None:
    t = code_or_name.strip()
    return RULES_BY_CODE.get(t.upper()) or RULES_BY_NAME.get(t.lower())
