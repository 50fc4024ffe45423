"""What every egressctl command shares: the consoles, the options, messages and exits, and the
project's stack files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from egressctl.exit_codes import ExitCode
from egressctl.project import known_stacks, stack_file

out = Console()
err = Console(stderr=True)

StackOption = Annotated[str, typer.Option("--stack", "-s", help="The stack, e.g. staging.")]
WorkDir = Annotated[Path, typer.Option("--work-dir", hidden=True)]


def stream_line(line: str) -> None:
    """The CLI's output, one line per call (the SDK strips the newline)."""
    out.print(line, markup=False, highlight=False, soft_wrap=True)


def say(message: str, style: str | None = None) -> None:
    """A message on stderr, verbatim: brackets in it ("[409] Conflict") are not markup."""
    err.print(message, style=style, markup=False, highlight=False, soft_wrap=True)


def fail(message: str, code: ExitCode = ExitCode.FAILURE) -> NoReturn:
    say(message, "red")
    raise typer.Exit(int(code))


def print_text(text: str) -> None:
    """Text on stdout exactly as given: no markup, no wrapping at the console's width."""
    typer.echo(text, nl=False)


def error_text(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        name = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror}{name}"
    if isinstance(error, KeyError):
        return f"missing {error}"
    return str(error)


def missing_stack_file(stack: str, work_dir: Path) -> str | None:
    """Why `stack` cannot be used (its Pulumi.<stack>.yaml is missing), or None."""
    path = stack_file(stack, work_dir)
    if path.is_file():
        return None
    return (
        f"no stack {stack!r}: {path.name} does not exist "
        f"(known: {', '.join(known_stacks(work_dir)) or 'none'})"
    )


def require_stack_file(stack: str, work_dir: Path) -> Path:
    problem = missing_stack_file(stack, work_dir)
    if problem is not None:
        fail(problem, ExitCode.STACK_NOT_FOUND)
    return stack_file(stack, work_dir)
