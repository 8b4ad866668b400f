"""Why the job refuses to do something; each carries the CLI exit code that reports it."""

from __future__ import annotations

from shopify_backfill.errors import BackfillError, Terminal, Transient


class BackfillStateError(Terminal):
    """The state machine refuses the request (already started, completed, not started)."""

    exit_code = 69  # EX_UNAVAILABLE


class BackfillBusy(Transient):
    """Another live process holds the backfill's lease; try again when it has finished."""

    exit_code = 75  # EX_TEMPFAIL


class LeaseLost(Transient):
    """This process no longer holds the lease (it expired and another run took over).

    The batch in hand is rolled back; the run stops without touching the status, because
    the new holder now owns it.
    """

    exit_code = 75


class Interrupted(BackfillError):  # noqa: N818 - "the run was interrupted"
    """The operator asked the run to stop (Ctrl-C); it stopped at a batch boundary.

    Nothing is lost: the last batch is committed with its checkpoint, and ``resume``
    continues from there. 130 is the shell's code for a process ended by SIGINT.
    """

    exit_code = 130
