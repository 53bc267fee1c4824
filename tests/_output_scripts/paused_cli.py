"""The real ``pharmsim`` command, paused at one phase so that a test can signal it there.

Usage: ``python paused_cli.py PHASE SECONDS -- ARGS...`` runs ``pharmsim.cli.main(ARGS)`` with one pause:

- ``solve``: before the simulation (inside :func:`pharmsim.study.run_study`); nothing is written yet.
- ``write``: after every file is written into the temporary output folder, before it is renamed into place.
- ``none``: no pause.

At the pause it prints ``PAUSED <phase> <temporary folder or ->`` on stdout and sleeps ``SECONDS``; the exit
status is the command's. Nothing else is changed: signal handling, output folders and messages are pharmsim's.
"""

import sys
import time


def main() -> int:
    phase, seconds, sep, *argv = sys.argv[1:]
    assert sep == "--", "usage: paused_cli.py PHASE SECONDS -- ARGS..."
    seconds = float(seconds)
    from pharmsim import cli, study

    def pause(where: str) -> None:
        print(f"PAUSED {phase} {where}", flush=True)
        time.sleep(seconds)

    if phase == "solve":
        real_run = study.run_study

        def run_study(*a, **kw):
            pause("-")
            return real_run(*a, **kw)

        study.run_study = run_study
    elif phase == "write":
        real_write = cli.write_study

        def write_study(sr, out_dir, **kw):
            written = real_write(sr, out_dir, **kw)
            pause(str(out_dir))
            return written

        cli.write_study = write_study
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
