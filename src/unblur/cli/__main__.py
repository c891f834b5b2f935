"""``python -m unblur.cli``: the same as the ``unblur`` command."""

from . import main

if __name__ == "__main__":  # pragma: no cover
    main()
