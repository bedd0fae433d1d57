"""Errors a user can cause. Mapped once: to HTTP status on the server, to UsageError in the kernel."""


class GovernanceError(Exception):
    """Base class: a one-line, user-facing message."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class Invalid(GovernanceError):
    status = 400


class Forbidden(GovernanceError):
    status = 403


class NotFound(GovernanceError):
    status = 404


class Conflict(GovernanceError):
    status = 409


class TooLarge(Invalid):
    """A request or a piece of work beyond a configured limit (body size, rows, export size)."""

    status = 413


class TooManyRows(TooLarge):
    """Content holding more rows than the limit it was checked against (read from its metadata)."""


class Unavailable(GovernanceError):
    """The service cannot do it now (store not writable, an export that ran out of time)."""

    status = 503


class TooManyRequests(Unavailable):
    """One user has as many calls of a kind running or waiting as they may (a 429, logged as one
    warning line where a 503 would be an error with the request's headers: red team R21 F4)."""

    status = 429


BY_STATUS = {cls.status: cls for cls in (Invalid, Forbidden, NotFound, Conflict, TooLarge, Unavailable,
                                         TooManyRequests)}
