"""The ``ips-sim`` command line: a thin layer of click commands over the library.

Each command lives in its own module here and only parses options, calls the
library and prints. Library errors (:class:`ips_sim.core.errors.UserError`) become
one line per problem on stderr and exit status 2.
"""

from __future__ import annotations

import errno
import os
import sys

import click

from ips_sim.core.errors import EnvironmentFault, UserError
from ips_sim.core.version import __version__
from ips_sim.ui.cli import faults, interrupt
from ips_sim.ui.cli.run import EXAMPLES


class IpsGroup(click.Group):
    """Reports :class:`UserError` as one line per problem (exit 2), an interrupt with a hint (exit 130)."""

    def invoke(self, ctx):
        interrupt.install()
        faults.install()
        if faults.cwd_gone():
            faults.say("ips-sim: the current folder no longer exists (deleted?): cd to an existing folder and run "
                       "the command again")
            ctx.exit(1)
        try:
            result = super().invoke(ctx)
            if faults.stdout_broken():
                raise OSError(errno.EIO, "cannot write", "<stdout>")
            return result
        except UserError as exc:
            lines = list(exc.messages)
            if isinstance(exc, EnvironmentFault) and lines:
                lines[-1] = f"{lines[-1]}; {interrupt.hint()}"  # where finished work is kept
            for line in lines:
                faults.say(line)
            self._leave(ctx, exc.exit_code)
        except KeyboardInterrupt:
            interrupt.report()
            ctx.exit(130)
        except click.UsageError as exc:
            # One line, like every other bad input: what is wrong and where to read more.
            path = exc.ctx.command_path if exc.ctx is not None else "ips-sim"
            click.echo(f"{path}: {exc.format_message()} (see: {path} --help)", err=True)
            ctx.exit(exc.exit_code)
        except OSError as exc:
            if exc.filename == "<stdout>" or (exc.filename is None and (faults.from_echo(exc)
                                                                        or faults.stdout_broken())):
                faults.mute_stdout()
                faults.say("ips-sim: standard output cannot be written (a full device or a closed pipe): "
                           "results are written as usual; send the output elsewhere")
            else:
                faults.say(faults.describe(exc))
            self._leave(ctx, 1)

    @staticmethod
    def _leave(ctx, code: int):
        """Exit with ``code``; at once if local workers were stopped mid-work (see interrupt.report)."""
        from ips_sim.runner import executors

        if executors.POOL_ABANDONED:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
            os._exit(code)
        ctx.exit(code)


@click.group(cls=IpsGroup, epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ips-sim")
def main():
    """Simulate the capacity of an IPS supported-employment program.

    A scenario file (YAML) describes the team, referrals and service; every
    field left out takes its sourced default (see `ips-sim fields`).
    """


def _register() -> None:
    from ips_sim.ui.cli import (  # noqa: F811 - the command modules
        app,
        calibrate,
        compare,
        fit_program,
        fit_referrals,
        plan,
        report,
        run,
        sensitivity,
        state,
        sweep,
        trial,
    )

    for module in (run, sweep, plan, state, trial, compare, report, calibrate, app, fit_referrals, fit_program,
                   sensitivity):
        for command in module.COMMANDS:
            main.add_command(command)


_register()

if __name__ == "__main__":  # pragma: no cover
    main()
