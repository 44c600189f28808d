"""ecrm.render.kernel: one warm kernel runs notebooks in turn, each in a clean namespace."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

from ecrm.render import kernel


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('tag: str = "default"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(s) for s in sources)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, path)
    return path


def _outputs(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    texts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream":
                texts.append(o["text"].strip())
    return texts


@pytest.fixture()
def kern(tmp_path: Path):
    k = kernel.WarmKernel(tmp_path)
    yield k
    k.close()


def test_notebooks_share_the_kernel_but_not_the_namespace(kern, tmp_path):
    first = _notebook(
        tmp_path / "a.ipynb",
        "import os, json\nleft_behind = 42\njson._ecrm_marker = os.getpid()\nprint(os.getpid())",
        "import matplotlib.pyplot as plt\nplt.figure()\nos.chdir('/')",
    )
    second = _notebook(
        tmp_path / "b.ipynb",
        "import os, json\nprint(os.getpid())",
        "print('left_behind' in globals(), tag)",
        "print(json._ecrm_marker == os.getpid())",  # modules survive: the point
        "import matplotlib.pyplot as plt\nprint(len(plt.get_fignums()), os.getcwd())",
    )
    assert kern.execute(first, tmp_path / "a.out.ipynb", {"tag": "one"}) == (True, "")
    assert kern.execute(second, tmp_path / "b.out.ipynb", {"tag": "two"}) == (True, "")
    pid_a = _outputs(tmp_path / "a.out.ipynb")[0]
    out = _outputs(tmp_path / "b.out.ipynb")
    assert out[0] == pid_a  # the same kernel process
    assert out[1] == "False two"  # the first notebook's variable is gone
    assert out[2] == "True"
    assert out[3] == f"0 {tmp_path.resolve()}"  # no figures, back in the project folder
    counts = [c.execution_count for c in nbformat.read(tmp_path / "b.out.ipynb", 4).cells]
    assert counts == list(range(1, len(counts) + 1))  # numbered from 1 for each notebook
    assert kern.kernels_started == 1 and kern.notebooks_run == 2


def test_pages_skip_the_clients_quiet_iopub_wait(kern, tmp_path, monkeypatch):
    """The warm client's own handshake runs, not jupyter_client's wait_for_ready.

    wait_for_ready ends by listening 0.2 s for leftover IOPub messages on every
    page; papermill starts the client through nbclient's synchronous method,
    which must be bound to the warm client's coroutine for the handshake to
    replace it.
    """
    from jupyter_client.asynchronous.client import AsyncKernelClient
    from jupyter_client.blocking.client import BlockingKernelClient

    async def refuse(self, timeout=None):
        raise AssertionError("wait_for_ready ran")

    def refuse_blocking(self, timeout=None):
        raise AssertionError("wait_for_ready ran")

    monkeypatch.setattr(AsyncKernelClient, "wait_for_ready", refuse)
    monkeypatch.setattr(BlockingKernelClient, "wait_for_ready", refuse_blocking)
    nb = _notebook(tmp_path / "c.ipynb", "print('out', tag)")
    for i in range(2):  # a fresh kernel, then the warm one after a reset
        assert kern.execute(nb, tmp_path / f"c{i}.out.ipynb", {"tag": str(i)}) == (True, "")
        assert _outputs(tmp_path / f"c{i}.out.ipynb") == [f"out {i}"]


def test_a_failing_cell_is_a_message_and_the_kernel_stays(kern, tmp_path):
    bad = _notebook(tmp_path / "bad.ipynb", "raise ValueError('no category column')")
    ok, message = kern.execute(bad, tmp_path / "bad.out.ipynb", {})
    assert not ok and message == "ValueError: no category column"
    good = _notebook(tmp_path / "good.ipynb", "print(1 + 1)")
    assert kern.execute(good, tmp_path / "good.out.ipynb", {})[0]
    assert kern.kernels_started == 1


def test_a_dead_kernel_is_replaced(kern, tmp_path):
    killer = _notebook(tmp_path / "kill.ipynb", "import os\nos._exit(1)")
    ok, message = kern.execute(killer, tmp_path / "kill.out.ipynb", {})
    assert not ok and "kernel died" in message
    after = _notebook(tmp_path / "after.ipynb", "print('alive')")
    assert kern.execute(after, tmp_path / "after.out.ipynb", {}) == (True, "")
    assert _outputs(tmp_path / "after.out.ipynb") == ["alive"]
    assert kern.kernels_started == 3  # killer: first + one retry; after: a new one


def test_fresh_kernels_start_one_kernel_per_notebook(tmp_path):
    k = kernel.WarmKernel(tmp_path, fresh=True)
    nb = _notebook(tmp_path / "n.ipynb", "import os\nprint(os.getpid())")
    assert k.execute(nb, tmp_path / "1.ipynb", {})[0]
    assert k.execute(nb, tmp_path / "2.ipynb", {})[0]
    assert k.kernels_started == 2 and not k.alive()
    assert _outputs(tmp_path / "1.ipynb") != _outputs(tmp_path / "2.ipynb")


def test_shared_kernel_is_kept_only_when_asked(tmp_path):
    k = kernel.shared(tmp_path)
    assert kernel.shared(tmp_path) is k
    kernel.keep_shared(True)
    try:
        kernel.close_shared(unless_kept=True)
        assert kernel.shared(tmp_path) is k
    finally:
        kernel.keep_shared(False)
    kernel.close_shared(unless_kept=True)
    assert kernel.shared(tmp_path) is not k
    kernel.close_shared()


def test_thread_limits_share_the_cores_and_respect_the_user(monkeypatch):
    monkeypatch.setattr(kernel.os, "cpu_count", lambda: 4)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    monkeypatch.delenv("ECRM_DUCKDB_THREADS", raising=False)
    env = kernel.thread_limits(2)
    assert env["OMP_NUM_THREADS"] == env["ECRM_DUCKDB_THREADS"] == "2"
    assert "MKL_NUM_THREADS" not in env
    assert kernel.thread_limits(8)["OMP_NUM_THREADS"] == "1"


def test_fresh_from_env(monkeypatch):
    monkeypatch.setenv("ECRM_FRESH_KERNELS", "1")
    assert kernel.fresh_from_env()
    monkeypatch.setenv("ECRM_FRESH_KERNELS", "0")
    assert not kernel.fresh_from_env()


def test_papermill_is_imported_without_the_iri_grammar_and_the_package_stays_importable():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from ecrm.render.kernel import _import_papermill\n"
        "pm = _import_papermill()\n"
        "assert hasattr(pm, 'execute_notebook')\n"
        "assert 'rfc3987_syntax' not in sys.modules\n"
        "import importlib.util\n"
        "if importlib.util.find_spec('rfc3987_syntax'):\n"
        "    import rfc3987_syntax\n"  # still importable for anyone else
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


_PARENT = """
import sys, time
import sys
from pathlib import Path
from ecrm.render import kernel
k = kernel.WarmKernel(Path(sys.argv[1]))
k._start()
print(k.km.provisioner.process.pid, flush=True)
time.sleep(300)
"""

_WORKER = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import os, sys, time; from ecrm.render import kernel; "
    "ok = kernel.die_with_parent(int(sys.argv[1])); print(os.getpid(), ok, flush=True); "
    "time.sleep(300)", str(os.getpid())], stdout=subprocess.PIPE, text=True)
print(child.stdout.readline().strip(), flush=True)
time.sleep(300)
"""


def _gone_within(pid: int, seconds: float) -> bool:
    import os
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":  # a zombie is dead
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.1)
    os.kill(pid, 9)
    return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux /proc")
def test_a_kernel_dies_within_seconds_of_a_kill_9_of_its_parent(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(Path(kernel.__file__).parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-c", _PARENT, str(tmp_path)], env=env, stdout=subprocess.PIPE, text=True
    )
    kernel_pid = int(proc.stdout.readline())
    assert Path(f"/proc/{kernel_pid}").exists()  # the kernel runs
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _gone_within(kernel_pid, 5), "the kernel outlived its parent"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_die_with_parent_kills_a_worker_when_its_parent_is_killed():
    import os
    import signal
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(Path(kernel.__file__).parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-c", _WORKER], env=env, stdout=subprocess.PIPE, text=True
    )
    pid, ok = proc.stdout.readline().split()
    assert ok == "True" and Path(f"/proc/{pid}").exists()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _gone_within(int(pid), 3), "the worker outlived its parent"
