"""The `casework` command line: schema, demo data, statistics, audit and maintenance, accounts, the running
service and offer campaigns.

`main` is the console script. Each module of this package holds one group of commands (`COMMANDS`); what they
share is in cli/common.py, and what they are given (the service, the scheduler, the app) comes from bootstrap.py.
"""

from __future__ import annotations

import click

from cli import accounts, campaigns, cases, checkpoints, dossier, persons, service, store
from cli.common import CaseworkGroup


@click.group(
    cls=CaseworkGroup,
    help="The `casework` command line: schema, demo data, statistics, audit and maintenance.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="casework")
def main() -> None:
    pass


for _module in (store, cases, dossier, accounts, service, campaigns, checkpoints, persons):
    for _command in _module.COMMANDS:
        main.add_command(_command)
