"""Run a benchmark script that has no ``--record`` and append its output to RESULTS.md.

``make bench`` uses it for the older scripts (``bench_retention.py``,
``bench_cluster_ctb.py``), which print plain text: the output goes under a
dated heading with the machine, the load average and the library versions, in
a text block. The command's exit code is passed on; nothing is recorded when
it fails.

Usage::

    python benchmarks/run_and_record.py "cohort and LTV tables" -- \\
        python benchmarks/bench_retention.py --customers 1000000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("title", help="heading of the recorded section")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- the command to run")
    args = ap.parse_args(argv)
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        ap.error("give the command after --")
    load_start = common.load_text()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    captured = []
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        captured.append(line)
    code = proc.wait()
    if code != 0:
        print(f"not recorded: {' '.join(cmd)} exited with {code}", file=sys.stderr)
        return code
    body = (
        f"`{' '.join(cmd)}` ({time.perf_counter() - start:.0f} s):\n\n```text\n"
        + "".join(captured).rstrip()
        + "\n```\n"
    )
    common.record(args.title, body, load_at_start=load_start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
