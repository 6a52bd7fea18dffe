"""The canonical argv of a parse, and the hints drawn from the actions taken.

Canonical form: long canonical option names only, each destination once with its final
value, in order of first appearance (values from a ``--config`` file first, in file order);
a ``--no-x`` form where a negatable flag ended false; ``--flag=value`` where a value starts
with ``-`` (the only way argparse accepts it).  Re-parsing it gives the same values.
"""

from __future__ import annotations

from hicachectl.sglang.engine import SUPPRESS, Hit

CONFIG = -1


def _key(pair: tuple[Hit, int], ns: str) -> tuple[str, str]:
    return ns, pair[0].flag.dest


def _emit(h: Hit) -> list[str]:
    f = h.flag
    canon = f.canonical
    kind = f.kind
    if kind == "boolean_optional":
        if h.value:
            return [canon]
        neg = next((o for o in f.opts if o.startswith("--no-")), "--no-" + canon[2:])
        return [neg]
    if not f.takes_value or kind in ("store_true", "store_false", "store_const", "count"):
        return [canon]
    args = h.args
    if not args:
        return [canon]
    # "--config FILE" would be expanded by SGLang; a parsed --config value came in as
    # "--config=FILE" (never expanded), so it keeps that form.
    if len(args) == 1 and (args[0].startswith("-") or canon == "--config"):
        return [f"{canon}={args[0]}"]
    return [canon, *args]


def canonical_argv(tagged: list[tuple[str, tuple[Hit, int]]]) -> list[str]:
    """``tagged``: (namespace, (hit, token index)) in the order the actions were taken."""
    first: dict[tuple[str, str], tuple[int, int]] = {}
    last: dict[tuple[str, str], Hit] = {}
    appends: dict[tuple[str, str], list[Hit]] = {}
    for seq, (ns, pair) in enumerate(tagged):
        h, i = pair
        if h.value is SUPPRESS:
            continue
        k = _key(pair, ns)
        first.setdefault(k, (i, seq))
        last[k] = h
        if h.flag.kind == "append":
            appends.setdefault(k, []).append(h)
    out: list[str] = []
    for k in sorted(first, key=first.__getitem__):
        if k in appends:
            for h in appends[k]:
                out.extend(_emit(h))
        elif last[k].flag.kind == "count":
            out.extend([last[k].flag.canonical] * int(last[k].value or 0))
        else:
            out.extend(_emit(last[k]))
    return out


def hit_problems(pairs: list[tuple[Hit, int]]):
    """Non-fatal hints: a flag repeated with a different value; -h/--version present."""
    from hicachectl.sglang.types import Problem

    out = []
    seen: dict[str, tuple[object, int]] = {}
    for h, i in pairs:
        f = h.flag
        if h.value is SUPPRESS:
            if f.kind in ("help", "version"):
                out.append(
                    Problem(
                        code="help",
                        message=f"{h.option}: the program prints its {f.kind} text and exits "
                        "without starting",
                        token_index=i if i != CONFIG else None,
                        flag=f.canonical,
                    )
                )
            continue
        prev = seen.get(f.dest)
        if (
            prev is not None
            and f.kind not in ("append", "count")
            and prev[1] != CONFIG
            and i != CONFIG
            and prev[0] != h.value
        ):
            out.append(
                Problem(
                    code="repeated",
                    message=f"{f.canonical} is given more than once ({prev[0]!r} at token "
                    f"{prev[1]}, then {h.value!r}); the last one wins",
                    token_index=i,
                    flag=f.canonical,
                )
            )
        seen[f.dest] = (h.value, i)
    return out
