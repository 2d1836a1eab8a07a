"""Entry point of the packaged app (PyInstaller): the same `peftstudio` command as the installed one."""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    try:  # the bootloader's splash (see peftstudio.spec): only the window needs it, a command does not
        import pyi_splash

        if len(sys.argv) > 1:
            pyi_splash.close()
        else:
            pyi_splash.update_text("Starting...")
    except Exception:  # noqa: BLE001 - no splash (not built in, or no display to show it on): nothing to close
        pass
    from peftstudio.cli import main

    sys.exit(main())
