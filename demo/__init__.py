"""Synthetic demo data for harmonise (seeded, reproducible, no real patients)."""
