"""Exceptions raised by unblur.

Every problem with user input raises a subclass of :class:`UnblurError`, whose message is
one line that names the problem. The command line prints that line and exits non-zero;
library users can catch ``UnblurError`` (it is also a ``ValueError``).
"""

from __future__ import annotations

__all__ = [
    "BackendUnavailableError",
    "ImageReadError",
    "ImageWriteError",
    "InvalidImageError",
    "InvalidPSFError",
    "InvalidParameterError",
    "UnblurError",
    "UnknownMethodError",
    "ValueRangeWarning",
]


class UnblurError(ValueError):
    """Base class of every input error raised by unblur.

    The message is always one line: whitespace runs (the newlines of an array's repr, for
    example) are collapsed to single spaces.
    """

    def __init__(self, *args: object) -> None:
        if len(args) == 1 and isinstance(args[0], str):
            args = (" ".join(args[0].split()),)
        super().__init__(*args)


class InvalidImageError(UnblurError):
    """The image array is unusable: NaN/inf, wrong dimensions, empty, non-numeric."""


class InvalidPSFError(UnblurError):
    """The PSF is unusable: zero or negative sum, NaN, larger than the image, bad spec."""


class InvalidParameterError(UnblurError):
    """A parameter value is out of range or of the wrong kind."""


class UnknownMethodError(UnblurError):
    """A method or model name that unblur does not know."""


class ImageReadError(UnblurError):
    """A file could not be read as an image: missing, corrupt or unsupported."""


class ImageWriteError(UnblurError):
    """An output could not be written, or writing it would overwrite a file not to touch."""


class BackendUnavailableError(UnblurError):
    """The requested device cannot be used: its array library is missing or there is no GPU."""


class ValueRangeWarning(UserWarning):
    """The image's values do not fit the [0, 1] scale unblur works on.

    Warned for integer arrays that use less than 1/256 of their dtype's range (``int64``
    holding 0-255: divided by the dtype's maximum they come back black) and for float images
    whose maximum exceeds 1.5 (0-255 stored as float: restored on that scale, where the
    automatic parameters are not tuned). Silence it with
    ``warnings.simplefilter("ignore", unblur.ValueRangeWarning)``.
    """
