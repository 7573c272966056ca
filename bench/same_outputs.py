"""Prove a refactoring left every output byte-identical: build the offline demo's and
workload A's outputs with two commits and compare the trees file by file.

    .venv/bin/python bench/same_outputs.py OLD_COMMIT [NEW_COMMIT]   # NEW: the work tree

Each commit's `aggregator` package is run from a `git archive` of it (the work tree is used
as is for NEW when no commit is given), on the same inputs: OLD's offline demo (its
`config/`, which NEW must still read) and one workload A server (fixed seed, one port for
both runs). Workload A is run with `workers = 2` so the worker-process rendering is compared
too. Every run is made twice: the second (nothing changed upstream) must write nothing.
Exit 1 on any difference.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workload import REPO, FeedServer, write_config


def _checkout(commit: str | None, into: Path) -> Path:
    """The package and config/ of `commit` (None: this work tree)."""
    if commit is None:
        return REPO
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit, "aggregator", "config"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def _once(code: Path, config: Path, out: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(code)}
    written: list[dict[str, int]] = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", _RUN, str(code), str(config)],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode not in (0, 1):  # 1: a source failed (the demo has none)
            sys.exit(f"`once` with {code} failed:\n{done.stderr}")
        written.append({p.as_posix(): p.stat().st_mtime_ns for p in out.rglob("*")})
    if written[0] != written[1]:
        sys.exit(f"`once` with {code} rewrote outputs although nothing had changed")


# Runs `once` with the package under test first on sys.path, whatever the venv installed.
_RUN = """
import sys
sys.path.insert(0, sys.argv[1])
import aggregator
assert aggregator.__file__.startswith(sys.argv[1]), aggregator.__file__
from aggregator.cli import main
sys.exit(main(["once", "-c", sys.argv[2]]))
"""


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _compare(name: str, old: Path, new: Path, only_new: set[str]) -> bool:
    a, b = _tree(old), _tree(new)
    extra = set(b) - set(a)
    unexpected = extra - only_new
    missing = set(a) - set(b)
    differ = sorted(p for p in set(a) & set(b) if a[p] != b[p])
    ok = not (unexpected or missing or differ)
    print(
        f"{name}: {len(a)} files before, {len(b)} after; "
        f"{len(set(a) & set(b)) - len(differ)} identical, {len(differ)} differ, "
        f"{len(missing)} missing, {len(unexpected)} unexpected new"
        + (f" (new outputs: {', '.join(sorted(extra & only_new))})" if extra & only_new else "")
    )
    for label, paths in (("differs", differ), ("missing", missing), ("new", unexpected)):
        for p in sorted(paths)[:10]:
            print(f"  {label}: {p}")
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("old", help="commit whose outputs are the reference")
    ap.add_argument("new", nargs="?", help="commit to compare (default: this work tree)")
    ap.add_argument(
        "--new-output",
        action="append",
        default=[],
        help="a file only the new commit writes, by design (e.g. sources.opml)",
    )
    args = ap.parse_args()
    only_new = set(args.new_output)
    ok = True
    with tempfile.TemporaryDirectory(prefix="same-outputs-") as tmp:
        root = Path(tmp)
        code = {
            "old": _checkout(args.old, root / "code-old"),
            "new": _checkout(args.new, root / "code-new"),
        }
        for side in code:  # the demo, run in the same folder (file: URLs are absolute)
            run = root / "demo-run"
            shutil.copytree(code["old"] / "config", run / "config")
            _once(code[side], run / "config" / "demo.toml", run / "demo-public")
            (root / "demo" / side).mkdir(parents=True)
            (run / "demo-public").rename(root / "demo" / side / "demo-public")
            shutil.rmtree(run)
        ok &= _compare(
            "demo", root / "demo/old/demo-public", root / "demo/new/demo-public", only_new
        )
        with FeedServer() as server:
            for side in code:
                config = write_config(root / "wl" / side, server.feeds, server.base_url)
                config.write_text("workers = 2\n" + config.read_text(encoding="utf-8"))
                _once(code[side], config, config.parent / "public")
        ok &= _compare("workload A", root / "wl/old/public", root / "wl/new/public", only_new)
    print("byte-identical" if ok else "OUTPUTS DIFFER")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
