"""A cold `aggregator once` of workload A, this work tree against another commit, whole
runs alternating (A B, B A, A B, …) so the machine's load hits both alike. With `--steady`,
a `once` where every feed answers 304 instead (workload B), after one cold run per side.

    .venv/bin/python bench/bench_processes.py --against COMMIT [--rounds 9] [--workers 2]
        [--steady]

Each run is one fresh store and output folder, polled by a child process running that
tree's `aggregator` package (`cli.main(["once", …])`, `workers` set in the config). The child
runs under `workload.REAPER` (PR_SET_CHILD_SUBREAPER): every process it starts — worker
processes, multiprocessing's resource tracker or fork server, which the main process does
not always wait for — is reaped by the reaper at the end, so their CPU time is counted.
Per run: wall time (until the main process exits), CPU of the whole process tree (user +
system), and the main process's own CPU (its `RUSAGE_SELF` when `once` returns): the rest
is the worker processes and their helpers. Prints medians per side and the median of the
paired differences (each round's B − A), which the load moves least.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workload import REAPER, REPO, FeedServer, median, write_config

# argv: code folder, config, file for the main process's own rusage.
_ONCE = """
import resource, sys
import aggregator
assert aggregator.__file__.startswith(sys.argv[1]), aggregator.__file__
from aggregator.cli import main
code = main(["once", "-c", sys.argv[2]])
me = resource.getrusage(resource.RUSAGE_SELF)
with open(sys.argv[3], "w") as f:
    f.write(f"{me.ru_utime + me.ru_stime}")
sys.exit(code)
"""

FIELDS = ("wall", "cpu", "main", "others")


@dataclass(frozen=True)
class Measured:
    wall: float
    cpu: float  # the whole process tree
    main: float  # the main process alone

    @property
    def others(self) -> float:
        return self.cpu - self.main


def checkout(commit: str, into: Path) -> Path:
    """The `aggregator` package of `commit`, extracted into `into`."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit, "aggregator"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def run_once(
    code: Path, server: FeedServer, workdir: Path, workers: int, fetched: int | None = None
) -> Measured:
    """One `once` of `code` in `workdir` (a fresh store, or the one a run left there);
    `fetched`: the feeds it must get whole (200), all of them by default."""
    config = write_config(workdir, server.feeds, server.base_url)
    config.write_text(f"workers = {workers}\n" + config.read_text(encoding="utf-8"))
    result, own = workdir / "result.json", workdir / "main.cpu"
    server.reset_stats()
    cmd = [sys.executable, "-c", REAPER, str(result)]
    cmd += [sys.executable, "-c", _ONCE, str(code), str(config), str(own)]
    # PYTHONPATH, not sys.path: every process the run starts (a fork server too) must import
    # this tree's package, not the one installed in the venv.
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    if done.returncode != 0 or not result.exists():
        sys.exit(f"the reaper failed:\n{done.stderr[-3000:]}")
    got = json.loads(result.read_text())
    if got["code"] != 0:
        sys.exit(f"`once` of {code} exited {got['code']}:\n{done.stderr[-3000:]}")
    expected = len(server.feeds) if fetched is None else fetched
    if server.stats()[200] != expected:
        sys.exit(f"`once` of {code} fetched {server.stats()[200]} feeds, not {expected}")
    if not (workdir / "public" / "feed.atom").is_file():
        sys.exit(f"`once` of {code} wrote no feed.atom")
    return Measured(got["wall"], got["cpu"], float(own.read_text()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--against", required=True, help="commit A (B is this work tree)")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--workers", type=int, default=2, help="the config's `workers`")
    ap.add_argument("--workers-a", type=int, help="side A's `workers` (default: --workers)")
    ap.add_argument(
        "--items", type=int, default=100, help="items per feed (11: a real RSSHub feed's size)"
    )
    ap.add_argument(
        "--steady",
        action="store_true",
        help="measure runs where every feed answers 304 (after one cold run per side)",
    )
    args = ap.parse_args()
    workers = {"A": args.workers if args.workers_a is None else args.workers_a, "B": args.workers}
    results: dict[str, list[Measured]] = {"A": [], "B": []}
    with (
        FeedServer(items=args.items) as server,
        tempfile.TemporaryDirectory(prefix="bench-processes-") as tmp,
    ):
        root = Path(tmp)
        # B is a copy: the work tree may be edited while the bench runs.
        shutil.copytree(REPO / "aggregator", root / "code-b" / "aggregator")
        code = {"A": checkout(args.against, root / "code-a"), "B": root / "code-b"}
        if args.steady:  # one cold run each (not counted), then only 304s in the same store
            for side in ("A", "B"):
                run_once(code[side], server, root / side, workers[side])
        for i in range(args.rounds):
            for side in ("A", "B") if i % 2 == 0 else ("B", "A"):
                if args.steady:
                    m = run_once(code[side], server, root / side, workers[side], fetched=0)
                else:
                    m = run_once(code[side], server, root / f"{side}-{i}", workers[side])
                results[side].append(m)
                print(
                    f"round {i + 1} {side}: wall {m.wall:7.3f} s  CPU {m.cpu:7.3f} s  (main"
                    f" {m.main:6.3f}, others {m.others:6.3f})  load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
        size = sum(len(f.body) for f in server.feeds) // len(server.feeds) // 1000
        print(f"\n{len(server.feeds)} feeds × {args.items} items (~{size} KB each)")
    print(f"A = {args.against}, workers = {workers['A']}; B = work tree, workers = {workers['B']}")
    print(f"medians of {args.rounds} rounds, seconds:")
    for side in ("A", "B"):
        row = "  ".join(
            f"{f} {median([getattr(m, f) for m in results[side]]):7.3f}" for f in FIELDS
        )
        print(f"  {side}: {row}")
    pairs = list(zip(results["A"], results["B"], strict=True))
    diffs = "  ".join(
        f"{f} {median([getattr(b, f) - getattr(a, f) for a, b in pairs]):+7.3f}" for f in FIELDS
    )
    print(f"  B − A, median of the paired differences: {diffs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
