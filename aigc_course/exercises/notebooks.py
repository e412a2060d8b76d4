"""The learner's exercise notebooks are made from the reference solutions, so the two never drift apart.

In a solution notebook (``solutions/NN_练习_答案.ipynb``):

- code between a line ``# BEGIN SOLUTION`` and a line ``# END SOLUTION`` is the answer. In the exercise
  notebook it is replaced by the block's ``# STUB: ...`` lines, uncommented (e.g. ``# STUB: 我的预测 = None``),
  or, when the block has none, by ``# TODO: 在这里写你的代码`` and ``raise NotImplementedError``;
- cells tagged ``solution`` (the banner, worked answers in prose) are left out of the exercise notebook;
- outputs are dropped.

``python -m aigc_course.exercises.notebooks [NN ...]`` (in the repository root) rewrites ``exercises/NN_练习.ipynb``
from its solution, for the chapters given or all of them; a test checks that the committed files are what this
gives.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from aigc_course.exercises.checking import STUB_MESSAGE

BEGIN, END, STUB = "# BEGIN SOLUTION", "# END SOLUTION", "# STUB:"
SOLUTION_TAG = "solution"
SOLUTION_SUFFIX = "_练习_答案.ipynb"
EXERCISE_SUFFIX = "_练习.ipynb"


class MarkerError(ValueError):
    """A solution cell whose BEGIN/END SOLUTION markers do not pair up."""


def stub_source(source: str) -> str:
    """``source`` with every solution block replaced by its stub."""
    lines, out, block, indent = source.splitlines(), [], None, ""
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped == BEGIN:
            if block is not None:
                raise MarkerError(f"line {number}: {BEGIN} inside another solution block")
            block, indent = [], line[: len(line) - len(line.lstrip())]
        elif stripped == END:
            if block is None:
                raise MarkerError(f"line {number}: {END} without {BEGIN}")
            out.extend(block or [f"{indent}# TODO: 在这里写你的代码", f'{indent}raise NotImplementedError("{STUB_MESSAGE}")'])
            block = None
        elif block is not None:
            if stripped.startswith(STUB):
                stub_indent = line[: len(line) - len(line.lstrip())]
                block.append(stub_indent + stripped[len(STUB):].lstrip())
        else:
            out.append(line)
    if block is not None:
        raise MarkerError(f"{BEGIN} without {END}")
    return "\n".join(out)


def exercise_from_solution(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The learner's notebook: solution blocks stubbed, ``solution`` cells left out, no outputs."""
    exercise = nbformat.v4.new_notebook(metadata=solution.metadata)
    for cell in solution.cells:
        if SOLUTION_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(stub_source(cell.source))
        elif cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(cell.source)
        else:
            new = nbformat.v4.new_raw_cell(cell.source)
        new.id = cell.get("id", new.id)
        exercise.cells.append(new)
    return exercise


def exercise_path(solution_path: Path) -> Path:
    """``solutions/01_练习_答案.ipynb`` -> ``exercises/01_练习.ipynb``."""
    name = solution_path.name.replace(SOLUTION_SUFFIX, EXERCISE_SUFFIX)
    return solution_path.parent.parent / "exercises" / name


def solution_paths(repo: Path) -> list[Path]:
    return sorted((repo / "solutions").glob(f"*{SOLUTION_SUFFIX}"))


def write_exercises(repo: Path, chapters: tuple[str, ...] = ()) -> list[Path]:
    """Rewrite the exercise notebooks of ``chapters`` (e.g. ``("01",)``; all when empty) from their solutions;
    returns the paths written."""
    written = []
    for solution_path in solution_paths(repo):
        if chapters and solution_path.name[:2] not in chapters:
            continue
        exercise = exercise_from_solution(nbformat.read(solution_path, as_version=4))
        target = exercise_path(solution_path)
        target.parent.mkdir(exist_ok=True)
        nbformat.write(exercise, target)
        written.append(target)
    return written


if __name__ == "__main__":
    for path in write_exercises(Path.cwd(), tuple(sys.argv[1:])):
        print(f"wrote {path}")
