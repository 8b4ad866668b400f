"""The one-time backfill job: window, preview, state machine, runner, notifications."""
