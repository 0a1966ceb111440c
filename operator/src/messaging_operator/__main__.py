"""Entry point: `messaging-operator` runs kopf with this package's handlers.

Settings come from the environment (settings.py): MESSAGING_OPERATOR_NAMESPACES (comma list,
empty for all), MESSAGING_OPERATOR_LOG_LEVEL, MESSAGING_OPERATOR_PEERING (a KopfPeering name for
two or more replicas), MESSAGING_OPERATOR_PRIORITY, MESSAGING_OPERATOR_RESYNC_SECONDS,
MESSAGING_OPERATOR_LIVENESS (e.g. http://0.0.0.0:8080/healthz).
"""

from __future__ import annotations

import logging
import os

import kopf

from messaging_operator.peering import OWN_ID
from messaging_operator.settings import from_environment


def main() -> None:
    config = from_environment()
    kopf.configure(log_format=kopf.LogFormat.JSON, verbose=config.log_level == "DEBUG")
    logging.getLogger().setLevel(config.log_level)
    if config.log_level != "DEBUG":
        # kopf logs "Handler ... succeeded" for every watch event at INFO: noise at our volume.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    # Registers the handlers with kopf's default registry.
    import messaging_operator.handlers  # noqa: F401

    kopf.run(
        clusterwide=not config.namespaces,
        namespaces=list(config.namespaces),
        standalone=not config.peering,
        peering_name=config.peering or None,
        priority=config.priority,
        identity=OWN_ID,  # peering.py finds this replica's own record by it
        liveness_endpoint=os.environ.get("MESSAGING_OPERATOR_LIVENESS") or None,
    )


if __name__ == "__main__":
    main()
