"""Errors raised by the rule language."""

from __future__ import annotations


class ExpressionError(ValueError):
    """A rule expression was rejected at compile time.

    ``message`` is written for a catalogue officer (Simplified Chinese with the English gist),
    ``position`` is the 0-based character offset in the source where the problem starts (or None),
    ``snippet`` is the offending sub-expression as written (or None).
    """

    def __init__(self, message: str, *, position: int | None = None, snippet: str | None = None) -> None:
        self.message = message
        self.position = position
        self.snippet = snippet
        details = []
        if position is not None:
            details.append(f"位置 (position) {position}")
        if snippet:
            details.append(f"于 (at) «{snippet}»")
        super().__init__(f"{message} [{'; '.join(details)}]" if details else message)


class EvaluationError(ValueError):
    """A compiled expression could not be evaluated on the given values (wrong value type, date overflow)."""
