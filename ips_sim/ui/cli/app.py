"""``ips-sim app``: start the Streamlit what-if app."""

from __future__ import annotations

import importlib.util
import sys

import click

from ips_sim.ui import app as app_page


@click.command("app", context_settings={"ignore_unknown_options": True})
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port to serve on [default: Streamlit's, 8501].")
@click.option("--address", default=None, help="Address to bind, e.g. 127.0.0.1.")
@click.option("--headless", is_flag=True, help="Do not open a browser.")
@click.argument("streamlit_args", nargs=-1, type=click.UNPROCESSED)
def app_command(port, address, headless, streamlit_args):
    """Open the interactive what-if app in the browser (needs: pip install 'ips-sim[app]').

    Extra arguments go to "streamlit run", e.g. --theme.base dark.
    """
    if importlib.util.find_spec("streamlit") is None:
        raise click.ClickException(
            "the app needs Streamlit, which is not installed: pip install 'ips-sim[app]' "
            "(or: pip install 'streamlit>=1.30')")
    cmd = [sys.executable, "-m", "streamlit", "run", str(app_page.APP_PATH),
           "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal"]
    if port is not None:
        cmd += ["--server.port", str(port)]
    if address:
        cmd += ["--server.address", address]
    if headless:
        cmd += ["--server.headless", "true"]
    cmd += list(streamlit_args)
    app_page.run_command(cmd)


COMMANDS = [app_command]
