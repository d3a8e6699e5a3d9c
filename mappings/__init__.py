"""Source shape -> canonical shape: one YAML per center, shared vocabularies, and the engine.

- ``<center>.yaml``: how one hospital's export maps to the canonical tables (data, not code).
- ``vocab/*.yaml``: shared source spellings of each canonical code list.
- ``spec.py`` reads and checks a mapping file; ``engine.py`` applies it to the export.
"""
