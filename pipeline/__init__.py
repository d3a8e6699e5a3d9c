"""One center's pipeline as plain functions: read -> map -> validate -> identify the load -> load.

No Prefect here: ``flows/`` wires these functions into a flow and a CLI. A run's settings
are any object with the attributes of ``pipeline.run.RunConfig`` (``flows.settings.Settings``).
"""
