"""The docs-as-code round trip with a browser edit in the middle: import 50 files, edit one in
the editor, see revision 2 and its diff, export, import again: nothing changes."""

from io import StringIO

import pytest
from django.core.management import call_command

from askonce.kb.models import Article
from askonce.kb.tests.test_docs_as_code import _folder_of_articles
from askonce.testing.browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _docs(*args: str) -> str:
    out = StringIO()
    call_command("docs", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_import_edit_in_browser_export_reimport(tmp_path, make_staff, open_page) -> None:
    owner = make_staff("support", email="owner@example.com", name="Olive Owner")
    assert "50 created" in _docs("import", str(_folder_of_articles(tmp_path / "in", owner.email)))

    page = open_page("owner@example.com", "pw-staff-123")
    page.goto("/console/kb/articles/article-01/edit")
    body = page.locator("textarea[name=body]")
    body.fill(body.input_value() + "\n\n## Added in the browser\n\nA line added in the browser.")
    # The live preview renders the new heading through the sanitizer before saving.
    page.get_by_test_id("preview").locator("h2", has_text="Added in the browser").wait_for()
    page.fill("input[name=note]", "Clarify from a ticket")
    screenshot(page, "kb-editor")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()

    article = Article.objects.get(slug="article-01")
    assert article.revision_number == 2
    assert "A line added in the browser." in article.body

    page.goto("/console/kb/articles/article-01/revisions")
    history = page.locator("main").inner_text()
    assert "Clarify from a ticket" in history
    assert "owner@example.com" in history or "Olive Owner" in history
    page.goto("/console/kb/articles/article-01/diff?from=1&to=2")
    added = page.locator("main").inner_text()
    assert "+A line added in the browser." in added
    screenshot(page, "kb-diff")

    _docs("export", str(tmp_path / "out"))
    assert "0 created, 0 updated, 50 unchanged" in _docs("import", str(tmp_path / "out"))
    assert Article.objects.get(slug="article-01").revision_number == 2
