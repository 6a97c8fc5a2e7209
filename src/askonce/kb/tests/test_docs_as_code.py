"""Docs as code: `askonce docs import|export` with a folder of Markdown files."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from askonce.kb.models import Article, Category, Revision

pytestmark = pytest.mark.django_db


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _folder_of_articles(folder: Path, owner: str, count: int = 50) -> Path:
    _write(
        folder,
        "_categories.yml",
        f"- slug: caching\n  name: Caching\n  owner: {owner}\n  review_interval_days: 90\n"
        "- slug: billing\n  name: Billing\n  owner: team:support\n",
    )
    for number in range(count):
        category = "caching" if number % 2 else "billing"
        _write(
            folder,
            f"{category}/article-{number:02d}.md",
            f"---\ntitle: Article number {number}\ncategory: {category}\nowner: {owner}\n"
            f"status: {'draft' if number == 7 else 'published'}\n---\n"
            f"# Question {number}\n\nThe answer to question {number} is below.\n\n"
            f"| key | value |\n|---|---|\n| n | {number} |\n",
        )
    return folder


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("docs", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_fifty_then_again_changes_nothing(tmp_path, make_staff) -> None:
    owner = make_staff("support", email="owner@example.com")
    folder = _folder_of_articles(tmp_path / "docs", owner.email)

    out, _ = _run("import", str(folder))
    assert "50 created, 0 updated, 0 unchanged, 2 categories created" in out
    assert Article.objects.count() == 50
    assert Article.objects.filter(status="published").count() == 49
    assert Category.objects.get(slug="caching").owner_user == owner

    out, _ = _run("import", str(folder))
    assert "0 created, 0 updated, 50 unchanged" in out
    assert Revision.objects.count() == 50


def test_export_then_import_gives_no_changes(tmp_path, make_staff, make_article) -> None:
    owner = make_staff("support", email="owner@example.com")
    _run("import", str(_folder_of_articles(tmp_path / "docs", owner.email, count=6)))
    # An article written in the browser (CRLF, trailing spaces) with a related article.
    article = Article.objects.get(slug="article-01")
    article.body = "Edited in the browser.  \r\n\r\nSecond paragraph.   "
    article.save()
    article.related.add(Article.objects.get(slug="article-03"))

    out, _ = _run("export", str(tmp_path / "export"))
    assert "Exported 6 articles" in out
    exported = (tmp_path / "export" / "caching" / "article-01.md").read_text()
    assert "owner: owner@example.com" in exported
    assert "related:\n- article-03" in exported

    out, _ = _run("import", str(tmp_path / "export"))
    assert "0 created, 0 updated, 6 unchanged" in out


def test_an_edited_file_updates_with_a_new_revision(tmp_path, make_staff) -> None:
    owner = make_staff("support", email="owner@example.com")
    folder = _folder_of_articles(tmp_path / "docs", owner.email, count=3)
    _run("import", str(folder))
    path = folder / "caching" / "article-01.md"
    path.write_text(path.read_text().replace("is below", "is right here"))

    out, _ = _run("import", str(folder))
    assert "updated  article-01" in out
    assert "0 created, 1 updated, 2 unchanged" in out
    article = Article.objects.get(slug="article-01")
    assert article.revision_number == 2
    assert "is right here" in article.body


def test_a_file_without_owner_is_refused_by_name_and_nothing_is_imported(
    tmp_path, make_staff
) -> None:
    owner = make_staff("support", email="owner@example.com")
    folder = _folder_of_articles(tmp_path / "docs", owner.email, count=4)
    _write(folder, "caching/orphan.md", "---\ntitle: Orphan\ncategory: caching\n---\nText\n")
    _write(folder, "caching/broken.md", "---\ntitle: [unclosed\n---\nText\n")
    _write(
        folder,
        "caching/nowhere.md",
        f"---\ntitle: Nowhere\ncategory: nowhere\nowner: {owner.email}\n---\nText\n",
    )

    with pytest.raises(CommandError, match="Nothing imported: 3 file"):
        out, err = StringIO(), StringIO()
        try:
            call_command("docs", "import", str(folder), stdout=out, stderr=err)
        finally:
            errors = err.getvalue()
    assert "caching/orphan.md: no owner" in errors
    assert "caching/broken.md: the front matter is not valid YAML" in errors
    assert "caching/nowhere.md: unknown category 'nowhere'" in errors
    assert not Article.objects.exists()
    assert not Category.objects.exists()


def test_unknown_owner_and_missing_folder(tmp_path, make_staff) -> None:
    make_staff("support", email="owner@example.com")
    folder = _folder_of_articles(tmp_path / "docs", "ghost@example.com", count=1)
    with pytest.raises(CommandError):
        _run("import", str(folder))
    assert not Article.objects.exists()
    with pytest.raises(CommandError):
        _run("import", str(tmp_path / "missing"))
