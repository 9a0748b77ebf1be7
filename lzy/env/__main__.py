"""``python -m lzy.env``: the ``lzy-env`` command."""

from lzy.env.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
