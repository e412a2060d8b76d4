"""Errors the course raises for bad input, each naming what was wrong and how to fix it."""


class CourseError(Exception):
    """Base class: a problem the user can fix, with the fix in the message."""


class DataError(CourseError):
    """A data file is missing, truncated, corrupt or has the wrong checksum."""


class CorruptDataError(DataError):
    """A file in the user's data folder is there but wrong (truncated, corrupt, another version)."""


class CheckpointError(CourseError):
    """A checkpoint is missing or belongs to another model."""


class SettingsError(CourseError, ValueError):
    """A setting or input out of range (a temperature of 0, a prompt with unknown characters, ...).

    Also a ``ValueError``, so code that catches bad values the usual Python way still does."""
