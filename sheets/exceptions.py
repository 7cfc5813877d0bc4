"""Errors of the sheets app."""


class SheetError(Exception):
    """A sheet command or service was given something it cannot do."""


class SheetNotFound(SheetError):
    pass


class UserNotFound(SheetError):
    pass
