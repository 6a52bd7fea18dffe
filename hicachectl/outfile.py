"""Writing an output file (``plan -o``, ``probe -o``) atomically: the text goes to a temporary
file beside the target, which is then renamed over it, so a reader never sees half a file and
a failed write leaves the old one in place.  Any failure is one ``InputError`` line."""

from __future__ import annotations

import os
import re
import stat
import sys
import tempfile


def write_atomic(path: str | os.PathLike, text: str, *, executable: bool = False) -> None:
    """Write ``text`` to ``path``.

    A symlink is followed (the file it points to is replaced, the link stays); a device, a
    pipe, or an open file descriptor (``-o /dev/stdout``, ``/dev/fd/N``: whatever the shell
    connected it to, a ``>>`` file included) is written directly.  A new file gets the permissions a plain
    ``open`` would give it under the umask (0644 with umask 022; 0755 when ``executable``);
    an existing file keeps its own (plus the execute bits when ``executable``).
    """
    from hicachectl.errors import InputError, where

    given = os.fspath(path)
    umask = os.umask(0)
    os.umask(umask)
    exec_bits = 0o111 & ~umask if executable else 0
    try:
        st = os.stat(given)  # through symlinks, /dev/stdout's included
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise InputError(where(given, f"cannot write: {exc.strerror or exc}")) from None
    if _descriptor(given) is not None or (st is not None and not stat.S_ISREG(st.st_mode)):
        _write_through(given, text)
        return
    target = os.path.realpath(given)
    mode = (0o666 & ~umask) | exec_bits if st is None else stat.S_IMODE(st.st_mode) | exec_bits
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=os.path.dirname(target)
        )
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600
        os.replace(tmp, target)
    except OSError as exc:
        raise InputError(where(given, f"cannot write: {exc.strerror or exc}")) from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)  # never leave a partial file behind


_OWN_FD = re.compile(r"^/(?:dev/fd|proc/(?:self|thread-self|\d+)/fd)/(\d+)$")


def _descriptor(given: str) -> int | None:
    """The open descriptor of this process that ``given`` names (``/dev/stdout``,
    ``/dev/fd/3``, ``/proc/self/fd/1``, or a link to one), else None."""
    p = os.path.abspath(given)
    for _ in range(40):  # a symlink chain, hop by hop
        m = _OWN_FD.match(p)
        if m and (
            not p.startswith("/proc/")
            or p.split("/")[2] in ("self", "thread-self", str(os.getpid()))
        ):
            return int(m.group(1))
        if not os.path.islink(p):
            return None
        p = os.path.join(os.path.dirname(p), os.readlink(p))
    return None


def _write_through(given: str, text: str) -> None:
    """A device, pipe or open descriptor: no rename possible (nor a half-written file to
    hide).  Our own descriptor is written as it is open, so ``>> file`` appends."""
    from hicachectl.errors import InputError, where

    if os.path.isdir(given):
        raise InputError(where(given, "cannot write: is a directory"))
    fd = _descriptor(given)
    if fd is not None:
        data = text.encode("utf-8")
        try:
            if fd == 1:
                sys.stdout.flush()  # anything printed already goes first
            while data:
                data = data[os.write(fd, data) :]
        except OSError as exc:
            raise InputError(where(given, f"cannot write: {exc.strerror or exc}")) from None
        return
    try:
        with open(given, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise InputError(where(given, f"cannot write: {exc.strerror or exc}")) from None
