"""``scv``: one command, one sub-command group per stage.

Heavy imports (GX, pandas, confluent-kafka's consumer loop) happen inside the verbs that need
them, so ``scv --help`` answers at once.
"""

from __future__ import annotations

import click

from scv.commands.audit import audit
from scv.commands.bench import bench
from scv.commands.carrier import carrier
from scv.commands.chaos import chaos
from scv.commands.connectors import connectors
from scv.commands.demo import demo
from scv.commands.edi import edi
from scv.commands.edi_parity import parity as edi_parity
from scv.commands.epcis import epcis
from scv.commands.orders import order
from scv.commands.pipeline import pipeline
from scv.commands.quality import quality
from scv.commands.quarantine import quarantine
from scv.commands.run import run
from scv.commands.serve import serve
from scv.commands.sim import sim
from scv.commands.sim_verify import verify
from scv.commands.stack import stack
from scv.commands.status import status
from scv.commands.supply import demand, suppliers
from scv.commands.views import alerts, inventory, reconcile, views
from scv.errors import run_with_boundary


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="scv")
def cli() -> None:
    """Real-time supply-chain visibility on top of legacy ERP and WMS databases."""


cli.add_command(stack)
cli.add_command(sim)
sim.add_command(verify)
cli.add_command(connectors)
cli.add_command(pipeline)
cli.add_command(quality)
cli.add_command(quarantine)
cli.add_command(views)
cli.add_command(inventory)
cli.add_command(alerts)
cli.add_command(reconcile)
cli.add_command(order)
cli.add_command(suppliers)
cli.add_command(demand)
edi.add_command(edi_parity, name="parity")
cli.add_command(edi)
cli.add_command(epcis)
cli.add_command(carrier)
cli.add_command(serve)
cli.add_command(bench)
cli.add_command(chaos)
cli.add_command(demo)
cli.add_command(run)
cli.add_command(audit)
cli.add_command(status)


def main() -> None:
    import os

    from scv.settings import local_transport_security

    def entry() -> object:
        local_transport_security(os.environ)
        return cli.main(standalone_mode=False)

    run_with_boundary(entry)
