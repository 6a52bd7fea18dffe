"""The mutable state one resolution threads through SGLang's pipeline steps.

``Ctx`` holds the values being resolved, the rewrites and log lines in emission order, and
the notes about what could not be decided.  Rule modules (``rules_*.py``) read and write it;
``Stop`` ends the pipeline the way an exception ends SGLang's ``resolve_once()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: models.py costs ~30 ms of pydantic start-up
    from hicachectl.models import ModelFacts

from collections.abc import Collection, Mapping
from functools import lru_cache
from typing import Any

from hicachectl.sglang import messages as M
from hicachectl.sglang.flags import sglang_table
from hicachectl.sglang.types import Rewrite, StartupError


class Stop(Exception):
    """Raised by a rule: SGLang would refuse to start with this error."""

    def __init__(self, error: StartupError):
        super().__init__(error.message)
        self.error = error


@lru_cache(maxsize=16)
def table_defaults(version: str) -> Mapping[str, Any]:
    from hicachectl.sglang.flags import SGLANG_VERSIONS

    # The nearest lower known table (the parser does the same and says so).
    known = [v for v in SGLANG_VERSIONS if M.semantics(v) <= M.semantics(version)]
    name = version if version in SGLANG_VERSIONS else (known[-1] if known else SGLANG_VERSIONS[0])
    return dict(sglang_table(name).defaults())


class Ctx:
    __slots__ = ("v", "explicit", "line", "new", "model", "gpu_sm", "rewrites", "logs", "notes")

    def __init__(
        self,
        values: Mapping[str, Any],
        explicit: Collection[str],
        version: str,
        model: ModelFacts | None,
        gpu_sm: int | None,
    ):
        v = dict(table_defaults(version))
        v.update(values)
        self.v = v
        self.explicit = explicit
        self.line = M.semantics(version)  # "0.5.21" or "0.5.23": which rule texts apply
        self.new = self.line == M.NEW
        self.model = model
        self.gpu_sm = gpu_sm
        self.rewrites: list[Rewrite] = []
        self.logs: list[str] = []
        self.notes: list[str] = []

    # ------------------------------------------------------------------ effects
    def set(
        self,
        field: str,
        value: Any,
        rule: str,
        message: str | None = None,
        level: str | None = "WARNING",
        *,
        log: bool = True,
    ) -> None:
        """Declare a resolved value; log ``message`` (SGLang logs it even when nothing changes)."""
        old = self.v.get(field)
        self.v[field] = value
        if not (old is value or (type(old) is type(value) and old == value)):
            self.rewrites.append(
                Rewrite(
                    field=field,
                    from_=old,
                    to=value,
                    message=message,
                    level=level if message is not None else None,
                    rule=rule,
                )
            )
        if message is not None and log:
            self.log(message)

    def log(self, message: str) -> None:
        # Only the lines the conformance capture keeps (HiCache, layout, page size, radix, ...).
        if M.relevant(message):
            self.logs.append(message)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    @staticmethod
    def fail(rule: str, message: str, error_type: str = "ValueError") -> None:
        raise Stop(StartupError(message=message, error_type=error_type, rule=rule))

    # ------------------------------------------------------------------ derived views
    @property
    def hicache(self) -> bool:
        return bool(self.v.get("enable_hierarchical_cache"))

    def receive_active(self) -> bool:
        """Decode host-receive buffering on? 0.5.21: threshold > 0; 0.5.23: threshold < 1."""
        t = self.v.get("disaggregation_decode_host_receive_threshold")
        if t is None:
            return False
        return t < 1 if self.new else t > 0

    def mla(self) -> bool | None:
        """Does SGLang use an MLA KV pool for this model (DSA included)? None: model unknown."""
        if self.model is None:
            return None
        return self.model.attention in ("mla", "dsa")

    def backends(self) -> tuple[str | None, str | None]:
        """(prefill, decode) attention backends as SGLang's ``attention_backends_of`` sees them."""
        attn = self.v.get("attention_backend")
        return (
            self.v.get("prefill_attention_backend") or attn,
            self.v.get("decode_attention_backend") or attn,
        )

    def dp_attention(self) -> bool:
        # 0.5.23 folds the deprecated --enable-dp-attention into attn_dp_size first
        # (rules_pd.deprecated_dp_attention); 0.5.21 reads the flag itself.
        if self.new:
            return (self.v.get("attn_dp_size") or 1) > 1
        return bool(self.v.get("enable_dp_attention"))

    def sm_major(self) -> int | None:
        return None if self.gpu_sm is None else self.gpu_sm // 10
