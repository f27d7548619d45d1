"""The contacts of a snapshot, each decoded from its stored bytes on first use."""

import contextlib
import os
from collections.abc import Iterator
from functools import cache
from typing import Any

import msgspec

from coffeechat.events.errors import LogDamaged
from coffeechat.events.projection import Contact


@cache
def _contact_decoder() -> msgspec.msgpack.Decoder[Contact]:
    return msgspec.msgpack.Decoder(Contact)


def remove_file(path: str) -> None:
    """Remove a file of the cache, if it is there (a cache that cannot be removed is left)."""
    with contextlib.suppress(OSError):
        os.remove(path)


class LazyContacts(dict[str, Contact]):
    """The contacts of a snapshot, each decoded from its stored bytes on first use.

    A recording command touches one or two contacts out of hundreds: decoding only
    those (and writing the others back as the very bytes they were read from, which
    msgspec's encoder does for a ``msgspec.Raw``) halves what it spends on the
    snapshot. Every way of reading a value decodes it first, so the rest of the code
    sees an ordinary ``dict[str, Contact]``. A contact that no longer decodes (the
    cache file damaged on disk) removes the cache and raises :class:`LogDamaged`.
    """

    def __init__(self, stored: dict[str, msgspec.Raw], cache_file: str) -> None:
        super().__init__(stored)  # type: ignore[arg-type]
        self.cache_file = cache_file

    def __getitem__(self, handle: str) -> Contact:
        value: object = dict.__getitem__(self, handle)
        if not isinstance(value, msgspec.Raw):
            return value  # type: ignore[return-value]
        try:
            contact: Contact = _contact_decoder().decode(value)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            remove_file(self.cache_file)
            raise LogDamaged(
                f"{self.cache_file}: the snapshot cache is damaged ({error}); "
                "it was removed, run the command again"
            ) from None
        dict.__setitem__(self, handle, contact)
        return contact

    def get(self, handle: str, default: Any = None) -> Any:
        return self[handle] if handle in self else default  # noqa: SIM401 (self.get is this)

    def decoded(self) -> set[str]:
        """Return the handles of the contacts decoded so far (or added since)."""
        return {h for h, value in dict.items(self) if isinstance(value, Contact)}

    def _decode_all(self) -> None:
        for handle in dict.keys(self):
            self[handle]

    def values(self) -> Any:
        self._decode_all()
        return super().values()

    def items(self) -> Any:
        self._decode_all()
        return super().items()

    def __iter__(self) -> Iterator[str]:
        # Overridden only so that dict(self) and {**self} read through __getitem__.
        return super().__iter__()

    def pop(self, handle: str, *default: Any) -> Any:
        if handle in self:
            self[handle]
        return super().pop(handle, *default)

    def setdefault(self, handle: str, default: Any = None) -> Any:
        return self[handle] if handle in self else super().setdefault(handle, default)

    def popitem(self) -> tuple[str, Contact]:
        self._decode_all()
        return super().popitem()

    def copy(self) -> dict[str, Contact]:
        return dict(self.items())

    def __eq__(self, other: object) -> bool:
        self._decode_all()
        return super().__eq__(other)

    __hash__ = None

    def __repr__(self) -> str:
        self._decode_all()
        return super().__repr__()
