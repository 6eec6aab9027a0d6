"""What went wrong in an import, and where: every problem carries the line it was found on."""

from __future__ import annotations

from dataclasses import dataclass

from keyhall.errors import InvalidInput

MAX_REPORTED = 100
"""An import stops collecting problems after this many; the first ones are what a person fixes."""


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class LocatedError(InvalidInput):
    """A problem that stops reading a file at once (the syntax itself is broken)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.problem = Problem(line, message)


class ImportRejected(InvalidInput):
    """The file has problems: nothing was written. `problems` lists each, with its line."""

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        where = f"{source}: " if source else ""
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{where}{first}{more}; nothing was imported")
        self.problems = problems
