"""The one error type for malformed identifiers."""


class IdentifierError(ValueError):
    """An identifier failed validation.

    ``problem`` is one of ``length``, ``character``, ``region``, ``date``, ``checksum``; ``message``
    is the Chinese explanation shown to the person who entered it, with expected vs found values.
    """

    def __init__(self, problem: str, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message
