"""Mutation-test one module of `aggregator` with the tests that cover it (mutmut 3).

    .venv/bin/python tools/mutation.py dates [--max-children 2] [--survivors]

mutmut reads its settings from the pyproject.toml of the directory it runs in and mutates
every module under `source_paths`; this script gives each module its own scratch project
under `.mutation/<module>/` (links to `aggregator/` and `tests/`, a pyproject.toml holding
`[tool.mutmut]` plus `only_mutate` and the module's tests from `[tool.mutation.modules]`), so
one module is mutated and each mutant runs only the tests that cover it. Every run starts
afresh: mutmut's cache keeps a survivor's verdict when only the tests changed.

`--again` after adding tests: only the mutants of changed functions and those the last run
did not kill are tested again (a kill stands: the tests only grew). Removing or weakening a
test needs a full run. mutmut maps only new tests to the functions they reach: a test that
was changed to reach more is not run on those mutants (add a new test instead).

Prints `killed/total` and the surviving mutants (`mutmut show NAME` in that folder shows one);
mutmut's own output goes to `.mutation/<module>/run.log`.
Equivalent mutants are excluded in the source with `# pragma: no mutate` and a reason
(see tests/mutmut-equivalent.md).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Test helpers and data every test file may import; tests/hexo (a node project) is not needed.
_TEST_SKIP = {"hexo", "__pycache__"}


def _toml_value(value: object) -> str:
    # JSON strings, numbers, booleans and arrays of them are valid TOML.
    return json.dumps(value, ensure_ascii=False)


def _project(mutate: list[str], tests: list[str], pyproject: dict[str, Any]) -> str:
    pytest_options = pyproject["tool"]["pytest"]["ini_options"]
    mutmut = dict(pyproject["tool"]["mutmut"])
    mutmut["only_mutate"] = mutate
    mutmut["pytest_add_cli_args_test_selection"] = tests
    lines = ["[tool.pytest.ini_options]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in pytest_options.items()]
    lines += ["", "[tool.mutmut]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in mutmut.items()]
    return "\n".join(lines) + "\n"


def _module(name: str, table: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(files to mutate, test files): `name = [tests]` mutates aggregator/<name>.py,
    `name = {mutate = [...], tests = [...]}` names its files."""
    if name not in table:
        sys.exit(f"{name!r} is not in [tool.mutation.modules] of pyproject.toml")
    entry = table[name]
    if isinstance(entry, list):
        return [f"aggregator/{name}.py"], entry
    return list(entry["mutate"]), list(entry["tests"])


def _link(target: Path, link: Path) -> None:
    if link.is_symlink() or link.exists():
        if link.resolve() == target.resolve():
            return
        link.unlink()
    link.symlink_to(target)


def prepare(name: str) -> Path:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    mutate, tests = _module(name, pyproject["tool"]["mutation"]["modules"])
    work = ROOT / ".mutation" / name
    (work / "tests").mkdir(parents=True, exist_ok=True)
    _link(ROOT / "aggregator", work / "aggregator")
    _link(ROOT / "config", work / "config")  # the demo config's feeds are test data too
    for entry in (ROOT / "tests").iterdir():
        if entry.name not in _TEST_SKIP:
            _link(entry, work / "tests" / entry.name)
    text = _project(mutate, tests, pyproject)
    path = work / "pyproject.toml"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return work


def _mutmut() -> str:
    return str(Path(sys.executable).with_name("mutmut"))


# A Python string literal holding SQL: it starts with a statement or clause keyword (the
# code writes them in capitals), or has a `?` placeholder. SQLite reads keywords and
# identifiers in any case, not 'literals'.
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_SQL = re.compile(
    r"^\s*(?:SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|WITH|PRAGMA|FROM|WHERE|ORDER|GROUP"
    r"|JOIN|LIMIT|VALUES|SET|AND|OR)\b|(?:[=(,]\s*|\s)\?"
)
_SQL_LITERAL = re.compile(r"'[^']*'")
# A piece of a statement split over lines: column names, commas and brackets only.
_SQL_NAMES = re.compile(r"^[\s\w,()]*,[\s\w,()]*$")


def sql_case_only(removed: str, added: str, context: Sequence[str] = ()) -> bool:
    """Whether a changed line differs only in the letter case of SQL text outside its
    'literals' (an equivalent mutant: SQLite reads keywords and identifiers in any case).
    `context`: the lines around it, where a list of column names finds its statement."""
    if removed == added or removed.lower() != added.lower():
        return False
    if _STRING.sub('""', removed) != _STRING.sub('""', added):
        return False  # code outside the strings changed
    old, new = _STRING.findall(removed), _STRING.findall(added)
    changed = [(o, n) for o, n in zip(old, new, strict=True) if o != n]
    in_statement = any(_SQL.search(s) for line in context for s in _STRING.findall(line))
    return bool(changed) and all(
        (_SQL.search(o) is not None or (in_statement and _SQL_NAMES.match(o) is not None))
        and _SQL_LITERAL.findall(o) == _SQL_LITERAL.findall(n)
        for o, n in changed
    )


def _sql_case_only(work: Path, name: str) -> bool:
    diff = subprocess.run(
        [_mutmut(), "show", name], cwd=work, check=True, capture_output=True, text=True
    ).stdout
    removed = [line[1:] for line in diff.splitlines() if line.startswith("-") and line[1:2] != "-"]
    added = [line[1:] for line in diff.splitlines() if line.startswith("+") and line[1:2] != "+"]
    context = [line[1:] for line in diff.splitlines() if line.startswith(" ")]
    return len(removed) == len(added) == 1 and sql_case_only(removed[0], added[0], context)


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
        if status == "survived" and _sql_case_only(work, name):
            status = "equivalent, not counted (SQL case)"
        statuses[status] += 1
        if status not in ("killed", "timeout", "equivalent, not counted (SQL case)"):
            survivors.append(f"{name}: {status}")
    return statuses, survivors


def _not_killed(work: Path) -> list[str]:
    """The mutants of the last run that no test killed (survived, no tests, suspicious)."""
    out = subprocess.run(
        [_mutmut(), "results"], cwd=work, check=True, capture_output=True, text=True
    ).stdout
    names = [line.strip().rpartition(": ")[0] for line in out.splitlines() if ": " in line]
    return [name for name in names if not _sql_case_only(work, name)]  # those stay survivors


def _run(work: Path, max_children: int, names: list[str], log: Path) -> None:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    with log.open("a", encoding="utf-8") as out:
        done = subprocess.run(
            [_mutmut(), "run", "--max-children", str(max_children), *names],
            cwd=work,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    if done.returncode:
        sys.exit(f"mutmut failed ({done.returncode}), see {log}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", help="a name in [tool.mutation.modules], e.g. dates")
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--survivors", action="store_true", help="list every mutant not killed")
    parser.add_argument("--no-run", action="store_true", help="only report the last results")
    parser.add_argument(
        "--again",
        action="store_true",
        help="after adding tests: test again only the mutants of changed functions and those "
        "the last run did not kill (the tests only grew, so a kill stands)",
    )
    args = parser.parse_args()
    work = prepare(args.module)
    log = work / "run.log"
    if args.again:
        not_killed = _not_killed(work)
        _run(work, args.max_children, [], log)  # the mutants of changed functions
        if not_killed:
            _run(work, args.max_children, not_killed, log)
    elif not args.no_run:
        shutil.rmtree(work / "mutants", ignore_errors=True)
        log.unlink(missing_ok=True)
        _run(work, args.max_children, [], log)
    statuses, survivors = score(work)
    total = sum(statuses.values()) - statuses["equivalent, not counted (SQL case)"]
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
