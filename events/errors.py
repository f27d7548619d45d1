"""The errors a user can cause, and the one the log raises when it cannot be read.

Only the command line turns these into exit statuses; everything below it raises them.
"""


class UserError(Exception):
    """A mistake in what the user asked for (bad date, unknown contact, bad cron …).

    The message is shown to the user as it is, on one line, and the command exits 2
    without appending anything.
    """

    exit_status = 2


class LogDamaged(Exception):
    """The log cannot be read, or ``fsck`` found damage that is still there (exit 3)."""

    exit_status = 3
