"""One error tree for the whole product.

Retry decisions look only at the ``Transient`` / ``Terminal`` markers, never at concrete
classes, so a new failure mode is classified once, where it is raised. Each error also
carries the CLI exit code that reports it.
"""

from __future__ import annotations


class BackfillError(Exception):
    """Root of every error the product raises on purpose."""

    exit_code: int = 1


class Transient(BackfillError):  # noqa: N818 - a marker: "is it transient?"
    """Worth retrying: the same call may succeed later (throttling, 5xx, cut connections)."""

    exit_code = 75  # EX_TEMPFAIL


class Terminal(BackfillError):  # noqa: N818 - a marker: "is it terminal?"
    """Retrying cannot help: the input, the grant or the configuration must change."""


class ConfigError(Terminal):
    """Settings or command-line arguments are invalid; the message names the fix."""

    exit_code = 78  # EX_CONFIG


class InputError(Terminal):
    """External input (a payload, a form, a parameter) failed validation."""

    exit_code = 65  # EX_DATAERR
