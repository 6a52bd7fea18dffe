"""Writing an output file (``plan -o``, ``probe -o``) atomically: the text goes to a temporary
file beside the target, which is then renamed over it, so a reader never sees half a file and
a failed write leaves the old one in place.  Any failure is one ``InputError`` line."""

from __future__ import annotations

import os
import stat
import tempfile


def write_atomic(path: str | os.PathLike, text: str, *, executable: bool = False) -> None:
    """Write ``text`` to ``path``.

    A symlink is followed (the file it points to is replaced, the link stays); a device or a
    pipe (``-o /dev/stdout``) is written directly.  A new file gets the permissions a plain
    ``open`` would give it under the umask (0644 with umask 022; 0755 when ``executable``);
    an existing file keeps its own (plus the execute bits when ``executable``).
    """
    from hicachectl.errors import InputError, where

    given = os.fspath(path)
    target = os.path.realpath(given)
    umask = os.umask(0)
    os.umask(umask)
    exec_bits = 0o111 & ~umask if executable else 0
    try:
        st = os.stat(target)
    except FileNotFoundError:
        mode = (0o666 & ~umask) | exec_bits
    except OSError as exc:
        raise InputError(where(given, f"cannot write: {exc.strerror or exc}")) from None
    else:
        if not stat.S_ISREG(st.st_mode):
            _write_through(given, target, text)
            return
        mode = stat.S_IMODE(st.st_mode) | exec_bits
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


def _write_through(given: str, target: str, text: str) -> None:
    """A device or pipe: no rename possible (nor a half-written file to hide)."""
    from hicachectl.errors import InputError, where

    if os.path.isdir(target):
        raise InputError(where(given, "cannot write: is a directory"))
    try:
        with open(target, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise InputError(where(given, f"cannot write: {exc.strerror or exc}")) from None
