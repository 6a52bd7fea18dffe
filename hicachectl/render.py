"""Renderings of a :class:`~hicachectl.models.Plan`: ``json`` (the model dump), ``sh`` (a bash
script that starts everything and cleans up), ``toml`` (a profile that loads back to the same
request) and ``text`` (rich tables, in :mod:`hicachectl.render_text`).

``json``, ``sh`` and ``toml`` import neither rich nor anything heavy: they sit on the fast path.
"""

from __future__ import annotations

from hicachectl.dynamo.topology import RUN_DIR_PLACEHOLDER
from hicachectl.models import Plan, ProcessSpec

FORMATS = ("text", "json", "sh", "toml")


def render(plan: Plan, fmt: str, *, color: bool | None = None, width: int | None = None) -> str:
    if fmt == "json":
        return render_json(plan)
    if fmt == "sh":
        return render_sh(plan)
    if fmt == "toml":
        return render_toml(plan)
    if fmt == "text":
        from hicachectl.render_text import render_text

        return render_text(plan, color=color, width=width)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def render_json(plan: Plan) -> str:
    return plan.model_dump_json(indent=2) + "\n"


def render_toml(plan: Plan) -> str:
    from hicachectl.profiles import PlanRequest, profile_toml

    request = PlanRequest.model_validate(plan.extra["request"])
    name = plan.extra.get("profile_name") or "plan"
    description = (
        f"{plan.served_model_name}: {len(plan.workers)} worker(s) on {plan.hardware.hostname}, "
        f"written by hicachectl plan --format toml"
    )
    return profile_toml(request, name=name, description=description)


def sh_word(value: str) -> str:
    """Quote one word for bash; ``{run_dir}`` becomes ``"$RUN_DIR"`` so it expands."""
    import shlex  # not needed by the json format

    if RUN_DIR_PLACEHOLDER not in value:
        return shlex.quote(value)
    parts = value.split(RUN_DIR_PLACEHOLDER)
    return '"$RUN_DIR"'.join(shlex.quote(p) if p else "" for p in parts)


def command_line(proc: ProcessSpec, *, python: str = '"$PYTHON"', sep: str = " ") -> str:
    """``env VAR=... "$PYTHON" -m ...`` for one process (argv[0] "python" is the interpreter).

    With a multi-line ``sep``, each ``--flag value`` pair gets its own line.
    """
    env = [f"{k}={sh_word(v)}" for k, v in proc.env.items()]
    argv = [python if i == 0 and a == "python" else sh_word(a) for i, a in enumerate(proc.argv)]
    groups: list[list[str]] = [["env", *env]] if env else []
    head = 3 if len(argv) >= 3 and argv[1] == "-m" else 1
    groups.append(argv[:head])
    for word in argv[head:]:
        if word.startswith("--") or not groups:
            groups.append([word])
        else:
            groups[-1].append(word)
    return sep.join(" ".join(g) for g in groups)


_SH_HEAD = """\
#!/usr/bin/env bash
# {title}
# Written by `hicachectl plan --format sh`. Starts every process in its own process group,
# logs to $RUN_DIR/<name>.log, and stops them all when one exits or on Ctrl-C / SIGTERM.
# PYTHON: the interpreter with ai-dynamo[sglang] (default: python).
# HICACHECTL_RUN_DIR: where logs and the file-discovery store go (default: a new temp dir).
set -euo pipefail

PYTHON="${{PYTHON:-python}}"
RUN_DIR="${{HICACHECTL_RUN_DIR:-$(mktemp -d -t hicachectl.XXXXXX)}}"
mkdir -p "$RUN_DIR/dynamo-kv"
pids=()

# shellcheck disable=SC2317,SC2329  # invoked by the EXIT trap
cleanup() {{
  trap - EXIT INT TERM
  local pid
  for pid in "${{pids[@]}}"; do
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  for _ in $(seq 1 20); do
    local alive=0
    for pid in "${{pids[@]}}"; do
      if kill -0 -- "-$pid" 2>/dev/null; then alive=1; fi
    done
    if [ "$alive" -eq 0 ]; then return 0; fi
    sleep 0.5
  done
  for pid in "${{pids[@]}}"; do
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
}}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME COMMAND...: run COMMAND in a new process group, output to $RUN_DIR/NAME.log
start() {{
  local name=$1
  shift
  setsid "$@" >"$RUN_DIR/$name.log" 2>&1 &
  pids+=("$!")
  echo "started $name (pid $!), log: $RUN_DIR/$name.log"
}}
"""

_SH_TAIL = """
set +e
wait -n
status=$?
echo "a process exited with status $status; stopping the others" >&2
exit "$status"
"""


def render_sh(plan: Plan) -> str:
    import shlex

    title = (
        f"{plan.served_model_name} on {plan.hardware.hostname}: "
        f"{len(plan.workers)} worker(s), sglang {plan.sglang_version}"
    )
    lines = [_SH_HEAD.format(title=title.replace("\n", " "))]
    for proc in plan.processes:
        lines.append(f"start {shlex.quote(proc.name)} \\\n  " + command_line(proc, sep=" \\\n  "))
    base = f"http://localhost:{plan.http_port}"
    lines.append("")
    lines.append("echo " + shlex.quote(f"endpoint: {base}/v1/chat/completions"))
    lines.append(
        "echo "
        + shlex.quote(f"ready when: curl -sf {base}/v1/models/{plan.served_model_name}/ready")
    )
    return "\n".join(lines) + _SH_TAIL
