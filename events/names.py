"""Names as people type them: a transliterated, case-free key for matching and sorting.

Handles and lookups must work for people from everywhere: ``Søren`` is found by typing
``soren``, ``Łukasz`` by ``lukasz``, and ``ls`` puts ``Ñandú`` beside ``Nadia``, not after
``Zoe``. anyascii (a well-kept transliteration table) does the work, imported only when
a name is not plain ASCII, so recording an ASCII name never pays for it.

The fold keeps each non-ASCII contact's key in the projection (``Contact.ascii_name``),
so reading commands sort and match from the snapshot without importing anyascii.
"""

from __future__ import annotations


def transliterate(text: str) -> str:
    """Given any text, return it in ASCII (``Straße`` → ``Strasse``, ``李`` → ``Li``)."""
    if text.isascii():
        return text
    from anyascii import anyascii  # only non-ASCII text needs it

    return str(anyascii(text))


def ascii_key(name: str) -> str:
    """Given a name, return how it is matched and sorted: transliterated, casefolded, one
    space between words."""
    return " ".join(transliterate(name).casefold().split())


def ascii_name_of(name: str) -> str | None:
    """Return the key the projection keeps for ``name``: None for a plain ASCII name (its
    key is cheap to make from the name itself)."""
    return None if name.isascii() else ascii_key(name)
