"""Find the program in a tokenized command: env prefixes, wrappers, then the entry point.

Understands ``VAR=value`` prefixes, ``env [-i] [-u X] ...``, ``nohup``, ``exec``, ``sudo``,
``timeout [opts] DURATION``, ``numactl [opts]``, ``taskset [opts] MASK|-c LIST``,
``docker|podman run [opts] IMAGE`` (its ``-e X=Y`` go into ``env``), ``uv run [opts]`` and
``python[3[.x]] [opts] -m MODULE``, ``sglang serve``.  A command that starts with a ``-``
token is taken as bare server flags (``sglang serve`` flags).
"""

from __future__ import annotations

import os


def _is_assign(t: str) -> bool:
    """``NAME=value`` as a shell prefix assignment (no regex: this runs at every start-up)."""
    name, eq, _ = t.partition("=")
    return bool(eq) and name.isidentifier() and name.isascii()


def _is_python(base: str) -> bool:
    """python, python3, python3.11 (and nothing else)."""
    if not base.startswith("python"):
        return False
    rest = base[6:]
    major, _, minor = rest.partition(".")
    return rest == "" or (major.isdigit() and (minor == "" and "." not in rest or minor.isdigit()))


MODULES = {
    "dynamo.sglang": "dynamo.sglang",
    "dynamo.sglang.worker": "dynamo.sglang.worker",
    "sglang.launch_server": "sglang.launch_server",
    "dynamo.frontend": "dynamo.frontend",
    "dynamo.mocker": "dynamo.mocker",
}

# Wrapper options that take a separate value (anything else starting with '-' is a switch).
_DOCKER_VALUED = set(
    "-e --env --env-file -v --volume --name --network --net --ipc --shm-size --gpus -p "
    "--publish -w --workdir --entrypoint -u --user --mount --runtime --device --label -l "
    "--ulimit --cpus --memory -m --hostname -h --add-host --cap-add --cap-drop "
    "--security-opt --pid --restart --platform --pull --log-driver --log-opt --group-add "
    "--cpuset-cpus --cpuset-mems --cgroupns --tmpfs --stop-signal --stop-timeout "
    "--health-cmd --health-interval --memory-swap --device-cgroup-rule --dns --uts "
    "--userns --volumes-from --label-file --cidfile --expose --link --cgroup-parent "
    "--memory-reservation --oom-score-adj --storage-opt --sysctl --isolation "
    "--annotation --attach -a --blkio-weight --cpu-shares -c".split()
)
_NUMACTL_VALUED = set(
    "-N -m -i -C -p -P -w -b --cpunodebind --membind --interleave --physcpubind "
    "--preferred --preferred-many --weighted-interleave --cpubind".split()
)
_TIMEOUT_VALUED = {"-s", "--signal", "-k", "--kill-after"}
_ENV_VALUED = {"-u", "--unset", "-C", "--chdir", "-S", "--split-string"}
_SUDO_VALUED = {"-u", "--user", "-g", "--group", "-C", "-D", "-h", "-p", "-r", "-t", "-U"}
_UV_VALUED = set(
    "--with --with-editable --with-requirements -p --python --project --directory "
    "--env-file --extra --group --only-group --no-group --package --index "
    "--default-index --index-url --extra-index-url -f --find-links --config-file "
    "--cache-dir --python-preference --link-mode --resolution --prerelease "
    "--exclude-newer --color --keyring-provider".split()
)
_PY_VALUED = {"-X", "-W", "-Q"}
_SIMPLE_VALUED = {
    "exec": {"-a"},
    "stdbuf": {"-i", "-o", "-e"},
    "nice": {"-n", "--adjustment"},
    "ionice": {"-c", "-n", "-p", "-P", "-u", "--class", "--classdata"},
    "chrt": {"-p", "--pid"},
    "time": {"-o", "--output", "-f", "--format"},
}
_LAUNCHER_VALUED = set(
    "-N -n -c -p -t -w -J -o -e -A -G -np -H -x --host --hostfile -hostfile --bind-to "
    "--map-by --rank-by -npernode --nodes --ntasks --cpus-per-task --partition --time "
    "--gres --gpus --gpus-per-node --job-name --account --mpi --nodelist --mem".split()
)


class Entry:
    __slots__ = ("entrypoint", "start", "env", "problem", "positional_model", "bare")

    def __init__(self) -> None:
        self.entrypoint = "unknown"
        self.start = 0  # index of the first flag token after the entry point
        self.env: dict[str, str] = {}
        self.problem: tuple[str, str, int | None] | None = None  # (code, message, index)
        self.positional_model = False  # `sglang serve MODEL`
        self.bare = False  # the command was bare server flags


def _skip_opts(tokens: list[str], i: int, valued: set[str]) -> int:
    """Skip wrapper options starting at i; returns the first non-option index."""
    n = len(tokens)
    while i < n and tokens[i].startswith("-") and tokens[i] != "-":
        t = tokens[i]
        if t == "--":
            return i + 1
        i += 1
        if "=" not in t and t in valued and i < n:
            i += 1
    return i


def find_entry(tokens: list[str]) -> Entry:
    e = Entry()
    n = len(tokens)
    if n == 0:
        e.problem = ("entrypoint", "empty command", None)
        return e
    if tokens[0].startswith("-"):
        e.entrypoint = "sglang serve"
        e.bare = True
        return e
    i = 0
    program: str | None = None  # a docker --entrypoint standing in for the next token
    while i < n or program is not None:
        if program is not None:
            t, advance = program, 0
            program = None
        else:
            t, advance = tokens[i], 1
        base = os.path.basename(t)
        if advance and _is_assign(t):
            k, v = t.split("=", 1)
            e.env[k] = v
            i += 1
        elif base == "env":
            i += advance
            while i < n and tokens[i].startswith("-") and tokens[i] != "-":
                opt = tokens[i]
                i += 1
                if opt in ("-u", "--unset") and i < n:
                    e.env.pop(tokens[i], None)
                    i += 1
                elif opt in ("-i", "--ignore-environment", "-"):
                    e.env.clear()
                elif opt == "--":
                    break
                elif opt in _ENV_VALUED and i < n:
                    i += 1
        elif base in ("nohup", "exec", "stdbuf", "nice", "chrt", "ionice", "setsid", "time"):
            i = _skip_opts(tokens, i + advance, _SIMPLE_VALUED.get(base, set()))
            if base == "chrt" and i < n and tokens[i].isdigit():
                i += 1  # chrt [opts] PRIORITY COMMAND
        elif base in ("srun", "mpirun", "mpiexec"):
            j = i + advance
            while j < n and tokens[j].startswith("-") and tokens[j] != "-":
                opt = tokens[j]
                j += 1
                if opt == "-x" and j < n and "=" in tokens[j]:  # mpirun -x VAR=value
                    k, v = tokens[j].split("=", 1)
                    e.env[k] = v
                if "=" not in opt and opt in _LAUNCHER_VALUED and j < n:
                    j += 1
            i = j
        elif base == "sudo":
            i = _skip_opts(tokens, i + advance, _SUDO_VALUED)
        elif base == "timeout":
            i = _skip_opts(tokens, i + advance, _TIMEOUT_VALUED) + 1  # + DURATION
        elif base == "numactl":
            i = _skip_opts(tokens, i + advance, _NUMACTL_VALUED)
        elif base == "taskset":
            j = i + advance
            pid = False
            while j < n and tokens[j].startswith("-"):
                pid |= tokens[j] in ("-p", "--pid") or (
                    tokens[j].startswith("-")
                    and not tokens[j].startswith("--")
                    and "p" in tokens[j]
                )
                j += 1
            i = j + 1  # MASK or LIST
            if pid:
                e.problem = ("entrypoint", "taskset -p changes a running process", j)
                return e
        elif base in ("docker", "podman") and i + 1 < n:
            j = i + 1
            if j < n and tokens[j] == "container":
                j += 1
            if j >= n or tokens[j] != "run":
                e.problem = (
                    "entrypoint",
                    f"unknown entry point: {t} {tokens[j] if j < n else ''}".rstrip(),
                    i,
                )
                return e
            j += 1
            entrypoint = None
            while j < n and tokens[j].startswith("-") and tokens[j] != "-":
                opt = tokens[j]
                j += 1
                name, _, inline = opt.partition("=")
                if name in ("-e", "--env"):
                    val = inline if "=" in opt else (tokens[j] if j < n else "")
                    if "=" not in opt:
                        j += 1
                    if "=" in val:
                        k, v = val.split("=", 1)
                        e.env[k] = v
                elif opt.startswith("-e") and not opt.startswith("--") and len(opt) > 2:
                    k, _, v = opt[2:].partition("=")
                    if v or "=" in opt[2:]:
                        e.env[k] = v
                elif name == "--entrypoint":
                    entrypoint = inline if "=" in opt else (tokens[j] if j < n else None)
                    if "=" not in opt:
                        j += 1
                elif "=" not in opt and name in _DOCKER_VALUED:
                    j += 1
            i = j + 1  # IMAGE
            if entrypoint:
                program = entrypoint
        elif base == "uv" and i + 1 < n and tokens[i + 1] == "run":
            j = i + 2
            while j < n and tokens[j].startswith("-"):
                opt = tokens[j]
                if opt in ("-m", "--module"):
                    return _module(e, tokens, j + 1)
                j += 1
                if "=" not in opt and opt in _UV_VALUED:
                    j += 1
            i = j
        elif _is_python(base):
            j = i + advance
            while j < n and tokens[j].startswith("-") and tokens[j] != "-":
                opt = tokens[j]
                if opt == "-m":
                    return _module(e, tokens, j + 1)
                if opt.startswith("-m") and not opt.startswith("--"):
                    return _module(e, tokens, j, inline=opt[2:])
                if opt.startswith("-") and not opt.startswith("--") and "m" in opt[1:]:
                    # combined switches ending in m, e.g. -um
                    if opt.endswith("m"):
                        return _module(e, tokens, j + 1)
                j += 1
                if opt in _PY_VALUED and j < n:
                    j += 1
            where = j if j < n else i
            e.problem = ("entrypoint", "unknown entry point: python without -m MODULE", where)
            return e
        elif base == "sglang":
            nxt = i + advance  # with a docker --entrypoint, i already points past it
            if nxt < n and tokens[nxt] == "serve":
                e.entrypoint = "sglang serve"
                e.start = nxt + 1
                _serve_positional(e, tokens)
                return e
            e.problem = ("entrypoint", "unknown entry point: sglang without serve", i)
            return e
        else:
            e.problem = ("entrypoint", f"unknown entry point: {t}", i if advance else max(i - 1, 0))
            return e
    e.problem = ("entrypoint", "no program found in the command", None)
    e.start = n
    return e


def _module(e: Entry, tokens: list[str], j: int, inline: str | None = None) -> Entry:
    n = len(tokens)
    mod = inline if inline else (tokens[j] if j < n else "")
    start = j if inline else j + 1
    target = MODULES.get(mod)
    if target is None:
        e.problem = ("entrypoint", f"unknown entry point: python -m {mod}".rstrip(), min(j, n - 1))
        e.start = min(start, n)
        return e
    e.entrypoint = target
    e.start = min(start, n)
    if target == "dynamo.sglang.worker":
        e.problem = (
            "removed-module",
            "python -m dynamo.sglang.worker was removed (Dynamo 0.6); use python -m dynamo.sglang",
            min(j, n - 1),
        )
    return e


def _serve_positional(e: Entry, tokens: list[str]) -> None:
    # `sglang serve MODEL ...` is rewritten upstream to `--model-path MODEL ...`.
    if e.start < len(tokens) and not tokens[e.start].startswith("-"):
        e.positional_model = True
