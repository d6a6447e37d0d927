"""Screening (免申即享): evaluate policies over the whole population with the compiled rules and write
every eligible subject with its amount and per-rule explanation; subjects whose facts are missing
are listed apart, with the facts named — never silently dropped or approved."""

from miaopi.screening.run import ENGINES, PolicyFigures, Reevaluation, ScreeningError, ScreeningRun, screen

__all__ = ["ENGINES", "PolicyFigures", "Reevaluation", "ScreeningError", "ScreeningRun", "screen"]
