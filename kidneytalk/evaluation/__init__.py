"""Exam-question evaluation: accuracy, refusals and retrieval of each mode on a question bank.

``run_eval`` is the one entry point for the CLI (``kidneytalk eval``) and the
desktop app; ``write_report`` rebuilds the reports from ``results.jsonl``.
"""

from .metrics import bootstrap_ci, mcnemar_exact, summarize
from .questions import Problem, Question, load_questions
from .report import write_report
from .runner import EVAL_MODES, EvalProgress, EvalSummary, parse_modes, run_eval

__all__ = [
    "EVAL_MODES",
    "EvalProgress",
    "EvalSummary",
    "Problem",
    "Question",
    "bootstrap_ci",
    "load_questions",
    "mcnemar_exact",
    "parse_modes",
    "run_eval",
    "summarize",
    "write_report",
]
