"""Mutation-test one module of `aggregator` with the tests that cover it (mutmut 3).

    .venv/bin/python tools/mutation.py dates [--max-children 2] [--survivors]

mutmut reads its settings from the pyproject.toml of the directory it runs in and mutates
every module under `source_paths`; this script gives each module its own scratch project
under `.mutation/<module>/` (links to `aggregator/` and `tests/`, a pyproject.toml holding
`[tool.mutmut]` plus `only_mutate` and the module's tests from `[tool.mutation.tests]`), so
one module is mutated and each mutant runs only the tests that cover it. Every run starts
afresh: mutmut's cache keeps a survivor's verdict when only the tests changed.

Prints `killed/total` and the surviving mutants (`mutmut show NAME` in that folder shows one);
mutmut's own output goes to `.mutation/<module>/run.log`.
Equivalent mutants are excluded in the source with `# pragma: no mutate` and a reason
(see tests/mutmut-equivalent.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Test helpers and data every test file may import; tests/hexo (a node project) is not needed.
_TEST_SKIP = {"hexo", "__pycache__"}


def _toml_value(value: object) -> str:
    # JSON strings, numbers, booleans and arrays of them are valid TOML.
    return json.dumps(value, ensure_ascii=False)


def _project(module: str, tests: list[str], base: dict[str, object]) -> str:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pytest_options = pyproject["tool"]["pytest"]["ini_options"]
    mutmut = dict(base)
    mutmut["only_mutate"] = [f"aggregator/{module}.py"]
    mutmut["pytest_add_cli_args_test_selection"] = tests
    lines = ["[tool.pytest.ini_options]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in pytest_options.items()]
    lines += ["", "[tool.mutmut]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in mutmut.items()]
    return "\n".join(lines) + "\n"


def _link(target: Path, link: Path) -> None:
    if link.is_symlink() or link.exists():
        if link.resolve() == target.resolve():
            return
        link.unlink()
    link.symlink_to(target)


def prepare(module: str) -> Path:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    table = pyproject["tool"]["mutation"]["tests"]
    if module not in table:
        sys.exit(f"no tests listed for {module!r} in [tool.mutation.tests] of pyproject.toml")
    work = ROOT / ".mutation" / module
    (work / "tests").mkdir(parents=True, exist_ok=True)
    _link(ROOT / "aggregator", work / "aggregator")
    for entry in (ROOT / "tests").iterdir():
        if entry.name not in _TEST_SKIP:
            _link(entry, work / "tests" / entry.name)
    text = _project(module, table[module], pyproject["tool"]["mutmut"])
    path = work / "pyproject.toml"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return work


def _mutmut() -> str:
    return str(Path(sys.executable).with_name("mutmut"))


def score(work: Path) -> tuple[Counter[str], list[str]]:
    out = subprocess.run(
        [_mutmut(), "results", "--all=True"],
        cwd=work,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    statuses: Counter[str] = Counter()
    survivors = []
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if not sep:
            continue
        statuses[status] += 1
        if status not in ("killed", "timeout"):
            survivors.append(f"{name}: {status}")
    return statuses, survivors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", help="a module of aggregator/, e.g. dates")
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--survivors", action="store_true", help="list every mutant not killed")
    parser.add_argument("--no-run", action="store_true", help="only report the last results")
    args = parser.parse_args()
    work = prepare(args.module)
    if not args.no_run:
        shutil.rmtree(work / "mutants", ignore_errors=True)
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        log = work / "run.log"
        with log.open("w", encoding="utf-8") as out:
            done = subprocess.run(
                [_mutmut(), "run", "--max-children", str(args.max_children)],
                cwd=work,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        if done.returncode:
            sys.exit(f"mutmut failed ({done.returncode}), see {log}")
    statuses, survivors = score(work)
    total = sum(statuses.values())
    # A mutant that hangs the tests (timeout) is caught too: the suite did not pass.
    killed = statuses["killed"] + statuses["timeout"]
    if args.survivors:
        print("\n".join(survivors))
    detail = "; ".join(f"{n} {s}" for s, n in sorted(statuses.items()) if s != "killed")
    percent = 100 * killed / total if total else 0.0
    print(
        f"{args.module}: {killed}/{total} killed ({percent:.1f} %)" + (f"; {detail}" * bool(detail))
    )


if __name__ == "__main__":
    main()
