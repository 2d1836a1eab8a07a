"""Entry point of the packaged app (PyInstaller): the same `peftstudio` command as the installed one."""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from peftstudio.cli import main

    sys.exit(main())
