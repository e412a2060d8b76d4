"""The exercises of every chapter, checked so that the checks can never silently stop checking.

- each chapter has 5-8 exercises of all three kinds, and both notebooks have a heading for each;
- the committed exercise notebooks are exactly what ``aigc_course.exercises.notebooks`` makes from the solutions;
- for every ``implement`` exercise: the reference solution's function passes its check, the unchanged stub
  fails it with the "not implemented" hint, and at least two plausible wrong answers (``tests/wrong_answers_chNN.py``)
  fail it, each with the hint meant for that mistake;
- each exercise notebook runs without error up to its first check, which then fails (the stub is not done).

The reference solutions themselves run under nbval with the notebooks (``solutions/`` is a test path).
"""

import functools
import importlib
import re
from pathlib import Path

import nbformat
import pytest

from aigc_course.exercises import CHAPTERS, KINDS, CheckFailed, chapter_exercises
from aigc_course.exercises.checking import STUB_MESSAGE
from aigc_course.exercises.notebooks import exercise_from_solution

REPO = Path(__file__).resolve().parents[1]


def chapter_number(chapter: str) -> str:
    return chapter[2:]  # "ch01" -> "01"


def solution_notebook(chapter: str) -> Path:
    return REPO / "solutions" / f"{chapter_number(chapter)}_练习_答案.ipynb"


def exercise_notebook(chapter: str) -> Path:
    return REPO / "exercises" / f"{chapter_number(chapter)}_练习.ipynb"


def implement_exercises():
    return [pytest.param(chapter, exercise, id=f"{chapter}-{exercise.number}-{exercise.function}")
            for chapter in CHAPTERS for exercise in chapter_exercises(chapter) if exercise.kind == "implement"]


@functools.lru_cache(maxsize=None)
def notebook_namespace(path: Path) -> tuple[dict, tuple[str, ...]]:
    """The namespace after running the notebook's first code cell (its imports), and all code cells' sources."""
    notebook = nbformat.read(path, as_version=4)
    sources = tuple(cell.source for cell in notebook.cells if cell.cell_type == "code")
    namespace: dict = {}
    exec(compile(sources[0], f"{path.name}[setup]", "exec"), namespace)
    return namespace, sources


def notebook_function(path: Path, name: str):
    """The function ``name`` as the cell that defines it in the notebook at ``path`` defines it.

    A cell defining an exercise function holds only definitions, so it runs without the cells above it
    (apart from the first, the imports)."""
    namespace, sources = notebook_namespace(path)
    pattern = re.compile(rf"^def {re.escape(name)}\(", re.MULTILINE)
    cells = [source for source in sources if pattern.search(source)]
    assert len(cells) == 1, f"{path.name}: {len(cells)} cells define {name}()"
    local = dict(namespace)
    exec(compile(cells[0], f"{path.name}[{name}]", "exec"), local)
    return local[name]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_chapter_has_five_to_eight_exercises_of_all_three_kinds(chapter):
    exercises = chapter_exercises(chapter)
    assert 5 <= len(exercises) <= 8
    assert {exercise.kind for exercise in exercises} == set(KINDS)
    assert len({exercise.number for exercise in exercises}) == len(exercises)
    module = importlib.import_module(f"aigc_course.exercises.{chapter}")
    for exercise in exercises:
        assert callable(getattr(module, exercise.check, None)), f"{chapter} has no {exercise.check}()"
    for path in (solution_notebook(chapter), exercise_notebook(chapter)):
        markdown = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells
                             if cell.cell_type == "markdown")
        for exercise in exercises:
            assert f"{exercise.heading} " in markdown, f"{path.name} has no heading {exercise.heading!r}"
        code = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code")
        for exercise in exercises:
            assert f"{exercise.check}(" in code, f"{path.name} never calls {exercise.check}()"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_committed_exercise_notebook_is_made_from_the_solution(chapter):
    made = exercise_from_solution(nbformat.read(solution_notebook(chapter), as_version=4))
    committed = nbformat.read(exercise_notebook(chapter), as_version=4)
    assert [(cell.cell_type, cell.source) for cell in committed.cells] == \
           [(cell.cell_type, cell.source) for cell in made.cells], \
        "run `python -m aigc_course.exercises.notebooks` after editing a solution notebook"
    assert not any(cell.get("outputs") for cell in committed.cells)


@pytest.mark.parametrize("chapter, exercise", implement_exercises())
def test_the_reference_solution_passes_and_the_stub_fails(chapter, exercise, capsys):
    check = getattr(importlib.import_module(f"aigc_course.exercises.{chapter}"), exercise.check)
    check(notebook_function(solution_notebook(chapter), exercise.function))
    assert "✓ 正确" in capsys.readouterr().out

    with pytest.raises(CheckFailed, match=STUB_MESSAGE):
        check(notebook_function(exercise_notebook(chapter), exercise.function))


@pytest.mark.parametrize("chapter, exercise", implement_exercises())
def test_plausible_wrong_answers_fail_with_the_intended_hint(chapter, exercise):
    check = getattr(importlib.import_module(f"aigc_course.exercises.{chapter}"), exercise.check)
    wrong_answers = importlib.import_module(f"wrong_answers_{chapter}").WRONG_ANSWERS[exercise.function]
    assert len(wrong_answers) >= 2, f"{exercise.function}: at least two wrong answers must be tested"
    for wrong, hint in wrong_answers:
        with pytest.raises(CheckFailed) as failure:
            check(wrong)
        assert hint in failure.value.hint, f"{wrong.__name__}: expected a hint containing {hint!r}, " \
                                           f"got {failure.value.hint!r}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_exercise_notebook_runs_up_to_its_first_check(chapter):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from aigc_course.testing import CHAPTER_DATASETS, require_datasets

    require_datasets(*CHAPTER_DATASETS[chapter_number(chapter)])

    notebook = nbformat.read(exercise_notebook(chapter), as_version=4)
    first_check = next(index for index, cell in enumerate(notebook.cells)
                       if cell.cell_type == "code" and re.search(r"\bcheck_\w+\(", cell.source))
    notebook.cells = notebook.cells[: first_check + 1]
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(exercise_notebook(chapter).parent)}})
    with pytest.raises(CellExecutionError) as failure:
        client.execute()
    failed_cell = next(cell for cell in notebook.cells if cell.cell_type == "code" and any(
        output.get("output_type") == "error" for output in cell.get("outputs", [])))
    assert failed_cell is notebook.cells[first_check], "a cell before the first check raised an error"
    assert failure.value.ename == "CheckFailed"


def test_the_readme_table_counts_the_exercises_of_each_kind():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for chapter in CHAPTERS:
        exercises = chapter_exercises(chapter)
        counts = " | ".join(str(sum(exercise.kind == kind for exercise in exercises)) for kind in KINDS)
        row = f"| [{chapter_number(chapter)}](exercises/{chapter_number(chapter)}_练习.ipynb) | {counts} | {len(exercises)} |"
        assert row in readme, f"README's exercise table has no row {row!r}"
