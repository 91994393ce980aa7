"""All of Look-alike's SQL lives in this package; the rest of the app calls its functions."""

from webapp.store.db import StoreError, connect, migrate, now, open_store, transaction

__all__ = ["StoreError", "connect", "migrate", "now", "open_store", "transaction"]
