"""Generate a tree of mixed files for the lint benchmark: shell scripts, Markdown runbooks
and Kubernetes / compose YAML holding realistic SGLang and Dynamo launch commands, about one
in five carrying a real mistake (a broken continuation, a vLLM flag, an oversized HiCache,
write_back, a duplicated flag, an abbreviation).  Deterministic for a given seed.

    python bench/gen_lint_tree.py OUT_DIR [--files 2000] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

MODELS = [
    "Qwen/Qwen3-0.6B",
    "Qwen/Qwen3-8B",
    "meta-llama/Llama-3.1-8B-Instruct",
    "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
    "Qwen/Qwen3-32B",
]
MISTAKES = [
    ("comment", None),
    ("vllm", ["--max-num-seqs", "256"]),
    ("big", ["--hicache-size", "900"]),
    ("write_back", ["--hicache-write-policy", "write_back"]),
    ("dup", ["--page-size", "32"]),
    ("abbrev", ["--mem-frac", "0.8"]),
    ("ratio", ["--hicache-ratio", "0.5"]),
]


def worker_flags(rng: random.Random, i: int) -> tuple[list[list[str]], str | None]:
    tp = rng.choice([1, 2, 4, 8])
    flags = [
        ["--model-path", rng.choice(MODELS)],
        ["--tp-size", str(tp)],
        ["--page-size", "64"],
        ["--enable-hierarchical-cache"],
        ["--hicache-ratio", str(rng.choice([2, 3, 4]))],
        ["--hicache-write-policy", "write_through"],
        ["--hicache-io-backend", "kernel"],
        ["--mem-fraction-static", "0.8"],
        ["--skip-tokenizer-init"],
    ]
    mistake = None
    if rng.random() < 0.2:
        mistake, extra = rng.choice(MISTAKES)
        if mistake == "dup":
            flags.append(extra)  # the same flag twice with another value
        elif extra:
            same = [k for k, f in enumerate(flags) if f[0] == extra[0]]
            if same:
                flags[same[0]] = extra  # a wrong value in place of the right one
            else:
                flags.append(extra)
    return flags, mistake


def tp_of(flags: list[list[str]]) -> int:
    return next(int(f[1]) for f in flags if f[0] == "--tp-size")


def gpus(flags: list[list[str]]) -> str:
    return ",".join(str(g) for g in range(tp_of(flags)))


def shell_command(
    module: str, flags: list[list[str]], mistake: str | None, indent: str = "  ", prefix: str = ""
) -> str:
    lines = [f"{prefix}python3 -m {module} \\"]
    for k, f in enumerate(flags):
        last = k == len(flags) - 1
        tail = "" if last else " \\"
        if mistake == "comment" and k == 3:
            tail = " \\  # enable HiCache"
        lines.append(f"{indent}{' '.join(f)}{tail}")
    return "\n".join(lines)


def gen_shell(rng: random.Random, i: int) -> str:
    flags, mistake = worker_flags(rng, i)
    port = 8081 + rng.randint(0, 3)
    return (
        "#!/bin/bash\nset -euo pipefail\n"
        f'MODEL="{rng.choice(MODELS)}"\nEXTRA_ARGS=(--enable-metrics --trust-remote-code)\n'
        "trap 'kill 0' EXIT\n\n"
        "python3 -m dynamo.frontend --http-port 8000 --router-mode kv &\n\n"
        f"CUDA_VISIBLE_DEVICES={gpus(flags)} DYN_SYSTEM_PORT={port} \\\n"
        + shell_command("dynamo.sglang", flags, mistake)
        + " \\\n  --kv-events-config "
        + f'\'{{"publisher":"zmq","topic":"kv-events","endpoint":"tcp://*:{5557 + i % 3}"}}\''
        + ' \\\n  "${EXTRA_ARGS[@]}" &\n\nwait\n'
    )


def gen_markdown(rng: random.Random, i: int) -> str:
    flags, mistake = worker_flags(rng, i)
    return (
        f"# Runbook {i}\n\nStart the frontend:\n\n```console\n"
        "$ python -m dynamo.frontend --http-port 8000 &\nINFO listening\n```\n\n"
        "Then the worker:\n\n```bash\n"
        + shell_command("dynamo.sglang", flags, mistake)
        + "\n```\n\nSend a request:\n\n```bash\ncurl localhost:8000/v1/models\n```\n"
    )


def gen_yaml(rng: random.Random, i: int) -> str:
    flags, mistake = worker_flags(rng, i)
    if mistake == "comment":
        mistake = None
    args = "\n".join(f'            - "{a}"' for f in flags for a in f)
    mem = rng.choice(["200Gi", "400Gi", "64Gi"])
    return (
        "apiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeployment\nmetadata:\n"
        f"  name: gen-{i}\nspec:\n  backendFramework: sglang\n  services:\n"
        "    Frontend:\n      componentType: frontend\n      replicas: 1\n"
        "    decode:\n      componentType: worker\n      replicas: 1\n"
        f'      resources:\n        limits:\n          gpu: "{tp_of(flags)}"\n          memory: {mem}\n'
        "      extraPodSpec:\n        mainContainer:\n          image: dynamo:1.6.1\n"
        "          command: [python3, -m, dynamo.sglang]\n          args:\n" + args + "\n"
    )


def generate(out: Path, files: int = 2000, seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)
    counts = {"shell": 0, "markdown": 0, "yaml": 0}
    for i in range(files):
        sub = out / f"d{i % 20:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        r = i % 10
        if r < 4:
            (sub / f"launch_{i}.sh").write_text(gen_shell(rng, i))
            counts["shell"] += 1
        elif r < 7:
            (sub / f"runbook_{i}.md").write_text(gen_markdown(rng, i))
            counts["markdown"] += 1
        else:
            (sub / f"deploy_{i}.yaml").write_text(gen_yaml(rng, i))
            counts["yaml"] += 1
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    print(generate(Path(a.out), a.files, a.seed))


if __name__ == "__main__":
    main()
