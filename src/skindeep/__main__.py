"""``python -m skindeep ...``: the same as the ``skindeep`` console script."""

from skindeep.cli import main

if __name__ == "__main__":
    main()
