"""Source shape -> canonical shape: one YAML per center, shared vocabularies, and the engine.

- ``<center>.yaml``: how one hospital's export maps to the canonical tables (data, not code).
- ``vocab/*.yaml``: shared source spellings of each canonical code list.
- ``spec.py`` reads and checks a mapping file (``model.py`` the typed result, ``document.py``
  the strict YAML with line numbers, ``entries.py`` / ``columns.py`` the checks).
- ``engine.py`` applies it to a center's export (``inbox.py`` where the files are,
  ``structure.py`` the structural checks, ``map_file.py`` / ``wide.py`` one file's cells).
"""
