"""Errors a user can cause, each naming the flag and the value at fault."""


class UsageError(ValueError):
    """Bad input: the command line reports it as one line and exits with status 2."""

    def __init__(self, flag: str, value, reason: str):
        self.flag = flag
        self.value = value
        self.reason = reason
        super().__init__(f"{flag} {value}: {reason}")
