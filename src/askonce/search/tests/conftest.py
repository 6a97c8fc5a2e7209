"""Search factories: make_document puts one document in the index through the action."""

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from askonce.search.actions import do_index_document
from askonce.search.models import SearchDocument
from askonce.search.queries import document_for

_numbers = itertools.count(1)


@pytest.fixture
def make_document(db: None) -> Callable[..., SearchDocument]:
    def make(title: str = "Untitled", body: str = "", **fields: Any) -> SearchDocument:
        ref_id = fields.pop("ref_id", None) or next(_numbers)
        kind = fields.pop("kind", "article")
        do_index_document(
            kind=kind,
            ref_id=ref_id,
            title=title,
            body=body,
            url=fields.pop("url", f"/help/{kind}s/{ref_id}"),
            visibility=fields.pop("visibility", "public"),
            **fields,
        )
        document = document_for(kind, ref_id)
        assert document is not None
        return document

    return make
