"""Sub-commands of the ``ampc`` command line (see :mod:`ampc_agent.cli`)."""
