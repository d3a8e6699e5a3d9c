"""The closed code lists read back exactly as written (YAML flow mappings cut labels at commas)."""
from __future__ import annotations

from harmonise.schemas.codes import all_vocabularies, label


def test_every_label_is_whole_text_with_balanced_brackets():
    for vocabulary, entries in all_vocabularies().items():
        for code, attrs in entries.items():
            text = attrs["label"]
            assert isinstance(text, str) and text, (vocabulary, code)
            assert text.count("(") == text.count(")"), (vocabulary, code, text)


def test_labels_containing_commas_are_not_truncated():
    assert label("primary_site", "other").endswith("...)")
