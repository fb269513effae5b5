"""nbgrader's generate_assignment steps, with one change for theory questions.

In a theory question's answer cell (``metadata.mlops_course.question``) the solution
lines are dropped without nbgrader's stub: the student answers in the question's
widget, and a ``raise NotImplementedError()`` under it would only get in the way. The
course's nbgrader_config.py sets these steps, so ``nbgrader generate_assignment`` and
``mlops-course release`` make the same release."""

from __future__ import annotations

from nbgrader.converters import GenerateAssignment
from nbgrader.preprocessors import ClearSolutions

from mlops_course.authoring import question_kind


class ClearSolutionsKeepQuestions(ClearSolutions):
    """nbgrader's ClearSolutions, except in question cells: no stub there."""

    def _replace_solution_region(self, cell, language) -> bool:
        if cell.cell_type != "code" or not question_kind(cell):
            return super()._replace_solution_region(cell, language)
        kept, inside, replaced = [], False, False
        for line in cell.source.split("\n"):
            if self.begin_solution_delimeter in line:
                if inside:
                    raise RuntimeError("encountered nested begin solution statements")
                inside = replaced = True
            elif self.end_solution_delimeter in line:
                inside = False
            elif not inside:
                kept.append(line)
        if inside:
            raise RuntimeError("no end solution delimiter found")
        cell.source = "\n".join(kept).rstrip("\n")
        return replaced


RELEASE_PREPROCESSORS = [
    ClearSolutionsKeepQuestions if step is ClearSolutions else step
    for step in GenerateAssignment.class_traits()["preprocessors"].default()
]
