"""File readers for order imports: a shop's export in, a stream of `Parsed` steps out (see records.py).

    with open_reader(path, "taobao", platform=store.platform) as reader:
        for step in reader:  # step.record (or None), step.problems, step.bytes_read of reader.size
            ...

Whole-file problems (empty, binary, unknown encoding, missing required column) raise `FileRejected` from
`open_reader`, before anything is read. The formats are described for shop owners in docs/import-formats.md.
"""

from __future__ import annotations

from pathlib import Path

from huitouke.orders.importing.formats.common import Reader
from huitouke.orders.importing.formats.generic import GenericReader
from huitouke.orders.importing.formats.shopify import ShopifyReader
from huitouke.orders.importing.formats.taobao import TaobaoReader

FORMATS: tuple[str, ...] = ("taobao", "shopify", "generic")

__all__ = ["FORMATS", "Reader", "open_reader"]


def open_reader(
    path: Path, fmt: str, *, platform: str, items_path: Path | None = None, refunds_path: Path | None = None,
) -> Reader:
    """A reader for one export file; `platform` is the store's (a Tmall store's buyers are Taobao's)."""
    path = Path(path)
    if fmt == "taobao":
        return TaobaoReader(
            path, platform=platform, items_path=None if items_path is None else Path(items_path),
            refunds_path=None if refunds_path is None else Path(refunds_path),
        )
    if items_path is not None:
        raise ValueError(f"only the taobao format takes an item report, not {fmt!r}")
    if refunds_path is not None:
        raise ValueError(f"only the taobao format takes a refund report, not {fmt!r}")
    if fmt == "shopify":
        return ShopifyReader(path, platform=platform)
    if fmt == "generic":
        return GenericReader(path, platform=platform)
    raise ValueError(f"unknown import format {fmt!r}; expected one of {', '.join(FORMATS)}")
