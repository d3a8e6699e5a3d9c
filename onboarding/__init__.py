"""Onboarding a new center: profile an export, draft its mapping, check it (docs/adding-a-center.md).

The stage, in the order a data manager meets it:

- ``reading``: how an unknown export's bytes become rows (file kind, encoding, delimiter, sheets);
- ``identifiers``: which columns identify people, by header words and by their values;
- ``profile``: what each column holds (types, date formats, decimal marks, top values);
- ``headers`` and ``suggest``: which canonical column a header names, which vocabulary
  a column's values belong to;
- ``inference``: the decisions of a draft mapping (``decisions``: their records,
  ``column_entry``: one mapped column's transforms); ``writing``: its YAML text;
  ``draft``: the entry points;
- ``check``: what a dry run of the pipeline found, grouped for the person who fixes it.

It reads the mapping language (``mappings``) and the contract (``schemas``); it never
writes the warehouse.
"""
