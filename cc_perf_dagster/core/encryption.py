"""What opening an encrypted PDF needs: AES through pypdf's crypto dependency.

Files encrypted without a user password (permissions only) are opened and read like any other;
pypdf decrypts RC4 itself and AES through ``cryptography`` (or pycryptodome), which this package
installs with ``pypdf[crypto]``. Where neither imports, an AES file is refused as it opens
(:data:`AES_UNAVAILABLE`) instead of failing on its first stream.
"""

from __future__ import annotations

import importlib
from typing import Any

AES_UNAVAILABLE = "encrypted PDF (AES), opening it needs pypdf's crypto dependency: pip install 'pypdf[crypto]'"


def aes_available() -> bool:
    """Whether pypdf can decrypt AES here: one of the libraries it uses for it imports."""
    for module in ("cryptography", "Crypto"):  # pypdf's order: cryptography, then pycryptodome
        try:
            importlib.import_module(module)
        except ImportError:
            continue
        return True
    return False


def uses_aes(encrypt: Any) -> bool:
    """Whether an ``/Encrypt`` dictionary's streams or strings are AES (``/V 5``, or a crypt filter of ``/V 4``)."""
    from pypdf.generic import DictionaryObject

    def resolved(value: Any) -> Any:
        return value.get_object() if hasattr(value, "get_object") else value

    encrypt = resolved(encrypt)
    if not isinstance(encrypt, DictionaryObject):
        return False
    if encrypt.get("/V", 0) >= 5:
        return True
    filters = resolved(encrypt.get("/CF"))
    if not isinstance(filters, DictionaryObject):
        return False
    crypt_filters = (resolved(f) for f in filters.values())
    return any(isinstance(f, DictionaryObject) and f.get("/CFM") in ("/AESV2", "/AESV3") for f in crypt_filters)
