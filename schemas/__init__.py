"""The canonical contract of harmonise: code lists and pandera models of the harmonised tables.

Layering: mappings/ turns each hospital's export into frames of this shape, schemas/
says what a valid row is, warehouse/ stores the valid rows. Nothing here knows
about any hospital.
"""
