"""How Dynamo 1.6.1 splits and checks its argv (``dynamo/sglang/args.py::parse_args``,
``dynamo/frontend/main.py::parse_args``), on top of the shared parser state."""

from __future__ import annotations

from hicachectl.sglang.argv_state import CONFIG, Stop, run_sglang, without_flag
from hicachectl.sglang.config import ConfigError, convert_mapping, read_yaml
from hicachectl.sglang.parsers import dynamo_parser


def dynamo_sglang(r, sp, args, idx, values, dyn, model_path):
    """Dynamo's parser (parse_known_args), then the router-advertisement parser, then
    --disagg-config / --config expansion, the --disaggregation-mode rewrite and SGLang's
    strict parser; finally the values Dynamo forces and the combinations it refuses."""
    d, ra = (
        dynamo_parser("sglang-worker", "dynamo"),
        dynamo_parser("sglang-worker", "router_advertisement"),
    )
    dyn.update(d.defaults)
    dyn.update(ra.defaults)
    left = r.run(d, args, idx, known=True, ns=dyn, dynamo=True)
    args, idx = [args[i] for i in left], [idx[i] for i in left]
    left = r.run(ra, args, idx, known=True, ns=dyn, dynamo=True)
    args, idx = [args[i] for i in left], [idx[i] for i in left]
    if (dyn.get("disagg_config") is None) != (dyn.get("disagg_config_key") is None):
        r.problem(
            "dynamo",
            "Both 'disagg_config' and 'disagg_config_key' must be provided together.",
            None,
            True,
        )
        raise Stop
    gw = dyn.get("gateway_workers")
    if gw is not None and gw < 1:  # DynamoConfig.validate() checks this after the pairing
        r.problem("dynamo", "--gateway-workers must be a positive integer", None, True)
        raise Stop
    if dyn.get("disagg_config") is not None:
        args, idx = _disagg_section(r, sp, args, idx, dyn)
    else:
        args, idx = r.expand_config(sp, args, idx)
    args, idx = _disagg_mode(args, idx, dyn)
    run_sglang(r, sp, args, idx, values, model_path)
    # Values Dynamo sets on SGLang's namespace after parsing (dynamo/sglang/args.py).
    if dyn.get("enable_multimodal"):
        values["enable_multimodal"] = True
    if dyn.get("embedding_worker") or dyn.get("rerank_worker"):
        values["is_embedding"] = True
    if dyn.get("rerank_worker"):
        if values.get("disaggregation_mode") != "null":
            r.problem(
                "dynamo", "--rerank-worker requires aggregated cross-encoder serving", None, True
            )
        values["disable_radix_cache"] = True
        values["chunked_prefill_size"] = -1
    if "incremental_streaming_output" in values:
        values["incremental_streaming_output"] = True
    if (dyn.get("gateway_workers") or 0) > 1 and "tokenizer_worker_num" in values:
        values["tokenizer_worker_num"] = dyn["gateway_workers"]
    _rejections(r, values, dyn)


def _rejections(r, values, dyn) -> None:
    """Combinations Dynamo refuses after parsing (it logs or raises, and exits 1)."""
    checks = [
        (
            values.get("tool_call_parser") and dyn.get("dyn_tool_call_parser"),
            "Cannot use both --tool-call-parser and --dyn-tool-call-parser.",
        ),
        (
            dyn.get("custom_jinja_template") and dyn.get("use_sglang_tokenizer"),
            "Cannot use --custom-jinja-template and --use-sglang-tokenizer together. "
            "--custom-jinja-template requires Dynamo's preprocessor to apply the template, "
            "while --use-sglang-tokenizer bypasses Dynamo's preprocessor entirely."
            "If you want to use the SGLang tokenizer with a custom chat template, "
            "please use the --chat-template argument from SGLang.",
        ),
        (
            values.get("schedule_low_priority_values_first"),
            "--schedule-low-priority-values-first is not supported in Dynamo's "
            "SGLang integration. Dynamo normalizes request priority so higher "
            "values are always higher priority at the API layer.",
        ),
    ]
    for bad, message in checks:
        if bad:
            r.problem("dynamo", message, None, True)
            return


def _disagg_section(r, sp, args, idx, dyn):
    path, key = str(dyn["disagg_config"]), str(dyn["disagg_config_key"])
    at = r.tokens.index(path) if path in r.tokens else None
    try:
        if r.texts is None or path not in r.texts:
            import os

            if not os.path.exists(path):
                raise ConfigError(f"Disagg config file not found: {path}")
        data = read_yaml(path, r.texts)
        if not isinstance(data, dict):
            raise ConfigError(
                f"Disagg config file must contain a dictionary, got {type(data).__name__}"
            )
        if key not in data:
            raise ConfigError(
                f"Disagg config key '{key}' not found in {path}. Available keys: {list(data)}"
            )
        section = data[key]
        if not isinstance(section, dict):
            raise ConfigError(
                f"Disagg config section '{key}' must be a dictionary, got {type(section).__name__}"
            )
        extra = convert_mapping(sp, r.version, section)
    except ConfigError as e:
        r.problem("config", str(e), at, True, "--disagg-config")
        raise Stop from None
    r.config_at = at
    keep = without_flag(args, idx, "--config")
    return extra + keep[0], [CONFIG] * len(extra) + keep[1]


def _disagg_mode(args, idx, dyn):
    """Dynamo's ``--disaggregation-mode`` spellings: agg|pd -> null, encode -> removed."""
    value, at = None, None
    for j, a in enumerate(args):
        if a.startswith("--disaggregation-mode="):
            value, at = a.split("=", 1)[1], idx[j]
        if a == "--disaggregation-mode" and j + 1 < len(args):
            value, at = args[j + 1], idx[j + 1]
    if value in ("agg", "pd"):
        a2, i2 = without_flag(args, idx, "--disaggregation-mode")
        return a2 + ["--disaggregation-mode", "null"], i2 + [at, at]
    if value == "encode":
        dyn["multimodal_encode_worker"] = True
        dyn["enable_multimodal"] = True
        return without_flag(args, idx, "--disaggregation-mode")
    return args, idx


def frontend(r, args, idx, dyn):
    p = dynamo_parser("frontend", "frontend")
    dyn.update(p.defaults)
    left = r.run(p, args, idx, known=True, ns=dyn, dynamo=True)
    if dyn.get("chat_processor") == "sglang" and left:
        sp = dynamo_parser("frontend", "sglang_chat_processor")
        for k, v in sp.defaults.items():
            dyn.setdefault(k, v)
        sub = r.run(
            sp, [args[i] for i in left], [idx[i] for i in left], known=True, ns=dyn, dynamo=True
        )
        left = [left[i] for i in sub]
    if left and dyn.get("chat_processor") != "vllm":
        shown = [args[i] for i in left]
        r.problem("unrecognized", f"Unknown arguments specified: {shown}", idx[left[0]], True)
