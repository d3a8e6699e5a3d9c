"""Wiring: the Prefect flows and the ``harmonise`` command line.

Flows are thin: each task calls one plain, separately tested function of ``steps.py``.
"""
