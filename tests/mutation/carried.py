"""Kills carried from one sitting of ``make mutation`` to the next, in ``kills.json``.

On two cores the target modules' mutants take longer than one sitting, and ``.mutation/``
does not outlive its checkout. A kill is carried while its function's source is unchanged
(mutmut numbers a function's mutants the same way each time): tests are only ever added,
the trust ``--live`` already puts in the kills of the run before (docs/testing.md).
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import TypedDict

from .results import KILLED, LAYER, NOT_RUN, PACKAGE, Mutant

KILLS = Path(__file__).with_name("kills.json")


class Saved(TypedDict):
    source: str  # function_sources' digest when it was saved
    mutants: int  # how many mutmut made of it
    killed: list[int]  # their numbers


@cache
def function_sources(module: str) -> dict[str, str]:
    """A digest of each function's and method's source, decorators included, by mutmut's
    function name (``f``, ``C.m``) for a module named as ``make mutation`` names it."""
    path = LAYER / PACKAGE / (module.replace(".", "/") + ".py")
    lines = path.read_text(encoding="utf-8").splitlines()
    found: dict[str, str] = {}

    def digest(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        text = "\n".join(lines[start - 1 : node.end_lineno])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    for node in ast.parse("\n".join(lines)).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found[node.name] = digest(node)
        elif isinstance(node, ast.ClassDef):
            for method in node.body:
                if isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef):
                    found[f"{node.name}.{method.name}"] = digest(method)
    return found


def _short(module: str) -> str:
    return module.removeprefix(f"{PACKAGE}.")


def _number(mutant: Mutant) -> int:
    return int(mutant.name.rpartition("__mutmut_")[2])


def _load() -> dict[str, Saved]:
    if not KILLS.exists():
        return {}
    data = json.loads(KILLS.read_text(encoding="utf-8"))
    same_mutmut = data.get("mutmut") == version("mutmut")
    functions: dict[str, Saved] = data["functions"] if same_mutmut else {}
    return functions  # another mutmut numbers mutants otherwise


def _current(functions: dict[str, Saved], key: str) -> Saved | None:
    """The entry of ``module:function`` if that function's source is still the one saved."""
    entry = functions.get(key)
    module, _, function = key.partition(":")
    if entry is None or function_sources(module).get(function) != entry["source"]:
        return None
    return entry


def carry(mutants: Iterable[Mutant]) -> list[Mutant]:
    """The mutants, those not run here but killed in a saved run of the same source as
    ``killed``."""
    functions = _load()
    out = []
    for mutant in mutants:
        entry = _current(functions, f"{_short(mutant.module)}:{mutant.function}")
        if mutant.status in NOT_RUN and entry and _number(mutant) in entry["killed"]:
            mutant = replace(mutant, status="killed")
        out.append(mutant)
    return out


def save(mutants: Iterable[Mutant], modules: Iterable[str]) -> int:
    """Replace the saved kills of ``modules`` with those among ``mutants`` (carried ones
    included); return how many are saved."""
    wanted = set(modules)
    functions = {k: v for k, v in _load().items() if k.partition(":")[0] not in wanted}
    count: dict[str, int] = defaultdict(int)
    killed: dict[str, list[int]] = defaultdict(list)
    for mutant in mutants:
        module = _short(mutant.module)
        if module not in wanted:
            continue
        key = f"{module}:{mutant.function}"
        count[key] += 1
        if mutant.status in KILLED:
            killed[key].append(_number(mutant))
    for key, total in count.items():
        module, _, function = key.partition(":")
        source = function_sources(module)[function]
        functions[key] = Saved(source=source, mutants=total, killed=sorted(killed[key]))
    # One line per function: a later save's diff shows which functions changed.
    rows = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in sorted(functions.items()))
    text = f'{{\n "mutmut": "{version("mutmut")}",\n "functions": {{\n{rows}\n }}\n}}\n'
    KILLS.write_text(text, encoding="utf-8")
    return sum(len(v) for v in killed.values())


def pending(modules: Iterable[str]) -> list[str]:
    """mutmut's names (or patterns) of the modules' mutants no saved kill covers."""
    functions = _load()
    names: list[str] = []
    for module in modules:
        for function in function_sources(module):
            cls, _, method = function.rpartition(".")
            mangled = f"x\u01c1{cls}\u01c1{method}" if cls else f"x_{method}"
            prefix = f"{PACKAGE}.{module}.{mangled}__mutmut_"
            entry = _current(functions, f"{module}:{function}")
            if entry is None:
                names.append(prefix + "*")
                continue
            done = set(entry["killed"])
            names += [f"{prefix}{n}" for n in range(1, entry["mutants"] + 1) if n not in done]
    return names
