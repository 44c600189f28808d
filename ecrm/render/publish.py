"""Putting a finished report in place: old or new at every instant, one render at a time.

:func:`ecrm.render.report.render_request` builds a report in a temporary
folder and publishes it with the functions here (the rules are in
:mod:`ecrm.render.report`'s docstring, "Replacing a month's report"):

* :func:`shop_month_lock` serialises the renders of one shop-month
  (``reports/.locks/<shop>.<month>.lock``, ``fcntl.flock``: the kernel releases
  it when its holder dies, however it dies; a second render waits);
* :func:`clean_stale` removes what dead runs left behind
  (``.<month>.tmp-<pid>-…`` and ``.<month>.old-<pid>-…`` folders), renaming an
  orphaned old report back first when a run died between two renames;
* :func:`new_temp` makes the hidden temporary folder of one run;
* :func:`swap_in` exchanges the new folder with the old one in one atomic step
  (``renameat2(RENAME_EXCHANGE)`` on Linux), or, where that is not possible,
  with two renames that :func:`clean_stale` can undo;
* :func:`output_errors` turns "read-only", "permission denied" and "no space
  left" while writing into one :class:`ReportOutputError` naming the path and
  what to do.

:func:`fault_point` is called between the steps; it does nothing. Tests
replace it (``monkeypatch.setattr(publish, "fault_point", ...)``) to raise or
to ``os._exit()`` at a named step, so a kill at each step is tested
deterministically, not by timing.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ecrm.errors import EcrmError

__all__ = [
    "FAULT_STEPS",
    "ReportOutputError",
    "clean_stale",
    "fault_point",
    "new_temp",
    "output_errors",
    "output_message",
    "shop_month_lock",
    "swap_in",
]

log = logging.getLogger(__name__)

#: The steps at which :func:`fault_point` is called, in order.
FAULT_STEPS = ("locked", "built", "set-aside", "swapped", "done")

#: Errors of the disk or folder, not of ecrm: they get a message saying what to do.
_READ_ONLY = {errno.EACCES, errno.EPERM, errno.EROFS}
_FULL = {errno.ENOSPC, errno.EDQUOT}

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class ReportOutputError(EcrmError):
    """The report cannot be written: a read-only or forbidden folder, or a full disk.

    The message names the path and what to do; the previous report is unchanged.
    """


def fault_point(step: str) -> None:
    """A hook called at each step of publishing a report (:data:`FAULT_STEPS`); a no-op.

    ``"locked"``: the lock is held, stale folders removed; ``"built"``: the new
    report is complete in its temporary folder; ``"set-aside"``: (two-rename
    fallback only) the old report has been renamed aside, the new one is not in
    place yet; ``"swapped"``: the new report is in place, the old one not yet
    deleted; ``"done"``: the old one is deleted.
    """


def output_message(exc: OSError, where: Path) -> str | None:
    """The user's message for a write error of a full disk or an unwritable folder, else None."""
    path = exc.filename or where
    if exc.errno in _FULL:
        return (
            f"no space left on the device while writing {path}: free space on the disk "
            f"holding {where} and run again (the previous report is unchanged)"
        )
    if exc.errno in _READ_ONLY:
        return (
            f"cannot write {path} ({exc.strerror or 'permission denied'}): make {where} "
            "writable for this user, or run ecrm from a project whose reports/ folder is "
            "writable (the previous report is unchanged)"
        )
    return None


@contextlib.contextmanager
def output_errors(where: Path) -> Iterator[None]:
    """Turn an :class:`OSError` of a full disk or unwritable folder into a clear error.

    Raises
    ------
    ReportOutputError
        With :func:`output_message`'s text; other :class:`OSError` pass through.
    """
    try:
        yield
    except OSError as e:
        msg = output_message(e, where)
        if msg is None:
            raise
        raise ReportOutputError(msg) from e


def _lock_path(shop_reports: Path, month: str) -> Path:
    return shop_reports.parent / ".locks" / f"{shop_reports.name}.{month}.lock"


@contextlib.contextmanager
def shop_month_lock(shop_reports: Path, month: str) -> Iterator[Path]:
    """Hold the lock of one shop-month's report; wait while another process holds it.

    Parameters
    ----------
    shop_reports : Path
        ``reports/<shop>/``.
    month : str
        ``YYYY-MM``.

    Yields
    ------
    Path
        The lock file, ``reports/.locks/<shop>.<month>.lock`` (it stays; only
        the lock on it is released).
    """
    import fcntl

    path = _lock_path(shop_reports, month)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            log.warning(
                "another render of %s %s is running (pid %s): waiting for it to finish",
                shop_reports.name,
                month,
                holder,
            )
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock


def _month_is_free(shop_reports: Path, month: str) -> bool:
    """True when no process holds ``month``'s lock (nothing of it is being rendered)."""
    import fcntl

    path = _lock_path(shop_reports, month)
    if not path.is_file():
        return True
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


_STALE = re.compile(r"\.(?P<month>[0-9]{4}-[0-9]{2})\.(?P<kind>tmp|old)-.+")


def clean_stale(shop_reports: Path, month: str) -> list[Path]:
    """Remove what dead runs left in ``reports/<shop>/``; call it holding ``month``'s lock.

    Every ``.<month>.tmp-…`` and ``.<month>.old-…`` folder of ``month`` is a
    dead run's (the caller holds the lock, so no live run owns one). When
    ``<month>/`` is missing and an ``.old-`` folder is there, a run died
    between the two renames of the fallback swap: the newest old report is
    renamed back instead of being deleted. Folders of other months are removed
    when their lock is free (no process is rendering that month).

    Returns
    -------
    list of Path
        The folders removed or renamed back.
    """
    if not shop_reports.is_dir():
        return []
    found: dict[str, list[Path]] = {}
    for p in shop_reports.iterdir():
        m = _STALE.fullmatch(p.name)
        if m and p.is_dir() and not p.is_symlink():
            found.setdefault(m["month"], []).append(p)
    handled = []
    for m, folders in sorted(found.items()):
        if m != month and not _month_is_free(shop_reports, m):
            continue
        final = shop_reports / m
        olds = sorted((p for p in folders if ".old-" in p.name), key=lambda p: p.stat().st_mtime)
        if olds and not final.exists():
            os.replace(olds[-1], final)
            log.warning("restored %s from %s (a run died while swapping)", final, olds[-1].name)
            handled.append(olds[-1])
            folders = [p for p in folders if p != olds[-1]]
        for p in folders:
            shutil.rmtree(p, ignore_errors=True)
            log.info("removed %s, left by a run that did not finish", p)
            handled.append(p)
    return handled


def new_temp(shop_reports: Path, month: str) -> Path:
    """A new hidden folder ``reports/<shop>/.<month>.tmp-<pid>-<random>`` for one run.

    It becomes the report folder, so it gets the usual ``rwxr-xr-x`` (a web
    server or a colleague can read the report), not ``mkdtemp``'s owner-only mode.
    """
    tmp = Path(tempfile.mkdtemp(prefix=f".{month}.tmp-{os.getpid()}-", dir=shop_reports))
    tmp.chmod(0o755)
    return tmp


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two existing paths (Linux ``renameat2``); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # the file system cannot exchange: two renames instead
    raise OSError(err, os.strerror(err), str(b))


def swap_in(tmp: Path, final: Path) -> None:
    """Put the finished report ``tmp`` at ``final``; a reader sees old or new, whole.

    With an existing ``final`` the two folders are exchanged atomically
    (:func:`_exchange`) and the old report, now at ``tmp``, is deleted. Where
    the file system cannot exchange, ``final`` is renamed aside to
    ``.<month>.old-<pid>-…`` and ``tmp`` renamed in (a kill in between is
    repaired by :func:`clean_stale`). Call it holding the shop-month's lock.
    """
    if not final.exists():
        os.replace(tmp, final)
        fault_point("swapped")
    elif _exchange(tmp, final):
        fault_point("swapped")
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        old = final.with_name(f".{final.name}.old-{os.getpid()}-{os.urandom(4).hex()}")
        os.replace(final, old)
        try:
            fault_point("set-aside")
            os.replace(tmp, final)
        except BaseException:
            if not final.exists():
                os.replace(old, final)
            raise
        fault_point("swapped")
        shutil.rmtree(old, ignore_errors=True)
    fault_point("done")
