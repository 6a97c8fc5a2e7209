"""Demo knowledge base: the Markdown folder beside this file, imported as docs-as-code, plus one
stale article so the owner dashboard has something to show."""

from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from askonce.kb.docs_as_code import import_folder
from askonce.kb.models import Article

DEMO_DOCS = Path(__file__).parent / "demo_docs"


def load_kb_demo() -> bool:
    """Import the demo articles once; returns True when anything was created."""
    if Article.objects.exists():
        return False
    import_folder(DEMO_DOCS)
    # One article past its review date, as happens to every knowledge base.
    Article.objects.filter(slug="ttl-and-cache-control").update(
        review_due_at=timezone.now() - timedelta(days=3)
    )
    return True
