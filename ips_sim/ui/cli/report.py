"""``ips-sim report``: the board report (report.html and report.md) of a results folder."""

from __future__ import annotations

from pathlib import Path

import click

from ips_sim.core.errors import UserError


@click.command("report")
@click.argument("folder", type=click.Path())
def report_command(folder):
    """Build report.html (self-contained) and report.md from a run, sweep, plan or comparison FOLDER.

    \b
    Example:
      ips-sim report outputs/compare
    """
    from ips_sim.reporting.board_report import write_report

    path = Path(folder)
    if not path.is_dir():
        raise UserError([f"{folder}: (folder): no such folder: give a folder written by ips-sim run, sweep, "
                         "plan --out or compare"])
    for p in write_report(path):
        click.echo(f"-> {p}")


COMMANDS = [report_command]
