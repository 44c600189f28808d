"""A warm Jupyter kernel that executes report notebooks one after another.

Starting a kernel and importing pandas, Ibis, DuckDB and matplotlib into it
costs about 3 s, more than most report pages spend on their analysis; and a
fresh kernel also loses the engine's per-process caches (a shop's lines grouped
into orders, :mod:`ecrm.engine.cache` tables), so every page of a 1M-customer
shop would group its 10M lines again. :class:`WarmKernel` therefore keeps one
kernel per rendering process and runs the pages through papermill in turn:

* **one notebook at a time per kernel**: a kernel is never shared by two
  notebooks running at once, and each rendering process (``--workers``, a batch
  worker) owns its own kernel on its own IPC socket path, so kernels never race
  for ports;
* **a clean namespace per notebook**: before each notebook the kernel closes
  every pyplot figure (if a page imported pyplot; ecrm's plots do not),
  returns to the project folder and resets IPython's namespace
  (``InteractiveShell.reset(new_session=True)``: variables, history and the
  execution count), so a page can never read a variable another page left
  behind. Imported modules and the engine's caches survive the reset: that is
  the point;
* **a kernel dies with its parent**: jupyter_client starts the kernel in its
  own session with ``JPY_PARENT_PID`` set, and ipykernel's parent poller ends
  the kernel within a second of its parent's death (also a ``kill -9``);
  batch worker processes call :func:`die_with_parent` (Linux
  ``prctl(PR_SET_PDEATHSIG, SIGKILL)``), so killing ``ecrm batch`` takes its
  workers, and through them their kernels, down with it;
* **a dead kernel is replaced**: a kernel that died (or failed to start) is
  started again and the notebook is retried once in the new kernel; a notebook
  that kills its kernel twice becomes a page with a message.

``ECRM_FRESH_KERNELS=1`` (or ``render(..., fresh_kernels=True)``) restores one
new kernel per notebook, e.g. to rule out state leaking between pages.
"""

from __future__ import annotations

import contextlib
import multiprocessing.util
import os
import queue
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

__all__ = [
    "WarmKernel",
    "close_shared",
    "die_with_parent",
    "fresh_from_env",
    "keep_shared",
    "shared",
    "thread_limits",
]

_ENGINE = "ecrm-warm"
_START_TIMEOUT = 120
_RESET = """\
import os as _ecrm_os, sys as _ecrm_sys
if "matplotlib.pyplot" in _ecrm_sys.modules:  # a page used pyplot: close its figures
    _ecrm_sys.modules["matplotlib.pyplot"].close("all")
_ecrm_os.chdir({cwd!r})
del _ecrm_os, _ecrm_sys
get_ipython().reset(new_session=True)
"""


def _kernel_manager_class() -> type:
    """An async kernel manager on IPC sockets: no TCP port races between workers."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class IPCKernelManager(AsyncKernelManager):  # type: ignore[misc]
        @default("transport")
        def _default_transport(self) -> str:
            return "ipc" if os.name == "posix" else "tcp"

        @default("ip")
        def _default_ip(self) -> str:
            if os.name != "posix":
                return "127.0.0.1"
            # IPC socket files are "<ip>-<n>": a path unique to this kernel means two
            # workers starting kernels at once can never pick the same socket.
            import uuid

            return os.path.join(tempfile.gettempdir(), f"ecrm-kernel-{uuid.uuid4().hex}")

    return IPCKernelManager


_IMPORT_LOCK = threading.Lock()


def _import_papermill() -> Any:
    """Import papermill without the 1.4 s grammar build of an unused IRI checker.

    papermill → nbformat → jsonschema, whose format checkers import the optional
    ``rfc3987_syntax`` package, which builds a Lark grammar at import: 1.4 s of
    every report's start, for "iri" formats that no notebook schema uses. It is
    hidden while jsonschema loads (``sys.modules[name] = None`` makes its import
    fail, so jsonschema leaves that checker out) and unhidden right after, so a
    later ``import rfc3987_syntax`` elsewhere still works.
    """
    import sys

    with _IMPORT_LOCK:  # two page threads must not see a half-imported papermill
        if "papermill" in sys.modules:
            return sys.modules["papermill"]
        hide = "rfc3987_syntax" not in sys.modules and "jsonschema" not in sys.modules
        if hide:
            sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
        try:
            import papermill
        finally:
            if hide and sys.modules.get("rfc3987_syntax", 0) is None:
                del sys.modules["rfc3987_syntax"]
        return papermill


def _register_engine() -> None:
    """Register the papermill engine that runs a notebook on a given, running kernel."""
    from jupyter_core.utils import ensure_async, run_sync
    from nbclient.util import run_hook
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger

    if _ENGINE in papermill_engines._engines:
        return

    class WarmClient(PapermillNotebookClient):  # type: ignore[misc]
        async def async_start_new_kernel_client(self) -> Any:
            """nbclient's, with a handshake that does not wait 0.2 s for nothing.

            The client's ``wait_for_ready`` ends by reading IOPub until it has
            been quiet for 0.2 s, to drop the status messages of its own
            kernel_info request. nbclient reads only the messages of the cells
            it sends, so those can stay: the handshake (kernel_info answered on
            shell, a message seen on IOPub, so the subscription is live) is kept.
            """
            self.kc = self.km.client()
            await ensure_async(self.kc.start_channels())
            try:
                await _handshake(self.kc, self.startup_timeout)
            except Exception:
                await self._async_cleanup_kernel()
                raise
            self.kc.allow_stdin = False
            await run_hook(self.on_notebook_start, notebook=self.nb)
            return self.kc

        # nbclient binds the synchronous twin to its own coroutine: bind it to this one
        start_new_kernel_client = run_sync(async_start_new_kernel_client)

    class WarmEngine(NBClientEngine):  # type: ignore[misc]
        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man: Any,
            kernel_name: str,
            log_output: bool = False,
            stdout_file: Any = None,
            stderr_file: Any = None,
            start_timeout: int = _START_TIMEOUT,
            execution_timeout: int | None = None,
            **kwargs: Any,
        ) -> Any:
            client = WarmClient(
                nb_man,
                km=kwargs["km"],
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logger,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            try:
                return client.execute()
            finally:
                # the kernel stays up for the next notebook; this notebook's client goes
                if client.kc is not None:
                    client.kc.stop_channels()

    papermill_engines.register(_ENGINE, WarmEngine)


async def _handshake(kc: Any, timeout: float) -> None:
    """Wait until the kernel answers kernel_info on shell and IOPub delivers.

    ``jupyter_client``'s ``wait_for_ready`` without its final 0.2 s of
    listening for leftover IOPub messages (see :func:`_register_engine`).
    """
    from jupyter_core.utils import ensure_async

    deadline = time.monotonic() + timeout
    while True:
        kc.kernel_info()
        try:
            msg = await ensure_async(kc.shell_channel.get_msg(timeout=1.0))
        except queue.Empty:
            msg = None
        if msg is not None and msg["msg_type"] == "kernel_info_reply":
            try:
                await ensure_async(kc.iopub_channel.get_msg(timeout=0.2))
            except queue.Empty:
                pass  # IOPub not subscribed yet: ask again
            else:
                kc._handle_kernel_info_reply(msg)
                return
        if not await ensure_async(kc.is_alive()):
            raise RuntimeError("Kernel died before replying to kernel_info")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")


class WarmKernel:
    """One kernel that executes notebooks in turn (see the module docstring).

    Parameters
    ----------
    cwd : Path
        Working directory of the kernel (the project root).
    fresh : bool
        Start a new kernel for every notebook instead (no state is kept).
    env : dict, optional
        Environment variables set in the kernel on top of this process's.
    """

    def __init__(
        self, cwd: Path, *, fresh: bool = False, env: dict[str, str] | None = None
    ) -> None:
        self.cwd = Path(cwd).resolve()
        self.fresh = fresh
        self.env = dict(env or {})
        self.km: Any = None
        self.notebooks_run = 0
        self.kernels_started = 0

    # -- lifecycle -----------------------------------------------------------------
    def _start(self) -> None:
        from jupyter_core.utils import run_sync

        km = _kernel_manager_class()(kernel_name="python3")
        run_sync(km.start_kernel)(cwd=str(self.cwd), env={**os.environ, **self.env})
        self.km = km
        self.kernels_started += 1

    def alive(self) -> bool:
        """True when the kernel is running."""
        from jupyter_core.utils import run_sync

        if self.km is None:
            return False
        try:
            return bool(run_sync(self.km.is_alive)())
        except Exception:
            return False

    def close(self) -> None:
        """Shut the kernel down (a no-op when none runs)."""
        from jupyter_core.utils import run_sync

        km, self.km = self.km, None
        if km is None:
            return
        with contextlib.suppress(Exception):  # already gone: nothing left to stop
            if run_sync(km.is_alive)():
                run_sync(km.shutdown_kernel)(now=True)
        with contextlib.suppress(Exception):
            run_sync(km.cleanup_resources)()

    def _reset(self) -> None:
        """Give the next notebook a clean namespace in the running kernel.

        Over the shell channel alone: the request is queued until the kernel
        reads it and the reply comes back when the reset is done. (A client's
        ``wait_for_ready`` would also flush IOPub for 0.2 s each time, for
        output this request never makes: 0.2 s per page.)
        """
        kc = self.km.blocking_client()
        kc.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
        try:
            msg_id = kc.execute(_RESET.format(cwd=str(self.cwd)), silent=True, store_history=False)
            deadline = time.monotonic() + 60
            while True:
                try:
                    reply = kc.get_shell_msg(timeout=max(deadline - time.monotonic(), 0.01))
                except queue.Empty:
                    raise TimeoutError("the kernel did not answer the reset in 60 s") from None
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
        finally:
            kc.stop_channels()
        if reply["content"].get("status") != "ok":
            raise RuntimeError(f"could not reset the kernel: {reply['content'].get('evalue')}")

    # -- work ----------------------------------------------------------------------
    def execute(self, nb: Path, out_nb: Path, params: dict[str, str]) -> tuple[bool, str]:
        """Run one notebook with papermill; return ``(ok, message for the page)``.

        ``ok`` is False with the error's last line when a cell raised, or when the
        kernel could not be started or died twice while running this notebook.
        """
        last = ""
        for attempt in range(2):
            try:
                if self.fresh or not self.alive():
                    self.close()
                    self._start()  # boots while papermill is imported below
                    pm = _import_papermill()
                else:
                    pm = _import_papermill()
                    self._reset()
                _register_engine()
                pm.execute_notebook(
                    str(nb),
                    str(out_nb),
                    parameters=params,
                    engine_name=_ENGINE,
                    kernel_name="python3",
                    progress_bar=False,
                    start_timeout=_START_TIMEOUT,
                    # write the executed notebook once at the end, not twice per cell:
                    # each write re-serialises and re-validates the whole notebook
                    request_save_on_cell_execute=False,
                    km=self.km,
                )
                self.notebooks_run += 1
                return True, ""
            except _execution_error() as e:
                self.notebooks_run += 1
                return False, f"{e.ename}: {e.evalue}"
            except (RuntimeError, TimeoutError) as e:  # the kernel died or did not start
                last = str(e) or type(e).__name__
                self.close()
                time.sleep(0.5 + attempt)
            finally:
                if self.fresh:
                    self.close()
        return False, f"the notebook's kernel died or did not start: {last}"


def _execution_error() -> type[Exception]:
    return _import_papermill().PapermillExecutionError  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------- per process

_SHARED: WarmKernel | None = None
_KEEP = False
_FINALIZER_SET = False


def shared(cwd: Path, *, fresh: bool = False) -> WarmKernel:
    """The warm kernel of this process, started lazily in ``cwd``.

    A kernel started in another folder is replaced. The kernel is shut down when
    the process exits (also in multiprocessing workers).
    """
    global _SHARED, _FINALIZER_SET
    cwd = Path(cwd).resolve()
    if _SHARED is not None and (_SHARED.cwd != cwd or _SHARED.fresh != fresh):
        _SHARED.close()
        _SHARED = None
    if _SHARED is None:
        _SHARED = WarmKernel(cwd, fresh=fresh)
    if not _FINALIZER_SET:
        multiprocessing.util.Finalize(None, close_shared, exitpriority=100)
        _FINALIZER_SET = True
    return _SHARED


def close_shared(*, unless_kept: bool = False) -> None:
    """Shut this process's warm kernel down (unless :func:`keep_shared` asked to keep it)."""
    global _SHARED
    if unless_kept and _KEEP:
        return
    if _SHARED is not None:
        _SHARED.close()
        _SHARED = None


def keep_shared(keep: bool = True) -> None:
    """Keep this process's kernel between reports (batch workers render many shops)."""
    global _KEEP
    _KEEP = keep


def thread_limits(kernels: int) -> dict[str, str]:
    """Environment giving each of ``kernels`` concurrent kernels its share of the cores.

    scikit-learn's OpenMP loops, BLAS and DuckDB each spin up one thread per
    core; kernels each running a full set slow each other down. DuckDB's
    share goes through ``ECRM_DUCKDB_THREADS`` (:mod:`ecrm.engine`): on 2
    cores, two kernels of one thread each rendered the 1M-customer report with
    15% less CPU time and 11% sooner than two of two threads each. Values the
    user already set are kept.
    """
    share = str(max(1, (os.cpu_count() or 1) // max(1, kernels)))
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "ECRM_DUCKDB_THREADS")
    return {name: share for name in names if name not in os.environ}


def die_with_parent(parent_pid: int | None = None) -> bool:
    """Ask Linux to SIGKILL this process when its parent dies (``PR_SET_PDEATHSIG``).

    For worker processes (the batch's pool initializer): a ``kill -9`` of the
    parent cannot run any clean-up, so the kernel does it. When the parent is
    already gone (``os.getppid()`` is no longer ``parent_pid``: it died before
    this call), the process exits at once. Elsewhere than Linux it does
    nothing and returns False.

    Parameters
    ----------
    parent_pid : int, optional
        The parent's pid as the parent saw it (``os.getpid()`` there).

    Returns
    -------
    bool
        True when the death signal is set.
    """
    import sys

    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the signal was set: nobody will send it
    return True


def fresh_from_env() -> bool:
    """True when ``ECRM_FRESH_KERNELS`` asks for one new kernel per notebook."""
    return os.environ.get("ECRM_FRESH_KERNELS", "").strip().lower() in {"1", "true", "yes"}
