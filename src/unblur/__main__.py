"""``python -m unblur``: the same as the ``unblur`` command."""

from .cli import main

if __name__ == "__main__":
    main()
