"""Writing an output file (``plan -o``, ``probe -o``) atomically: the text goes to a temporary
file beside the target, which is then renamed over it, so a reader never sees half a file and
a failed write leaves the old one in place.  Any failure is one ``InputError`` line."""

from __future__ import annotations

import os
import tempfile


def write_atomic(path: str | os.PathLike, text: str, *, executable: bool = False) -> None:
    """Write ``text`` to ``path`` with the permissions a plain ``open`` would give it under the
    current umask (0644 with umask 022; 0755 when ``executable``)."""
    from hicachectl.errors import InputError, where

    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    umask = os.umask(0)
    os.umask(umask)
    mode = (0o777 if executable else 0o666) & ~umask
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=directory
        )
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600
        os.replace(tmp, target)
    except OSError as exc:
        raise InputError(where(target, f"cannot write: {exc.strerror or exc}")) from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)  # never leave a partial file behind
