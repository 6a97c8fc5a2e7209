"""Docs as code: the knowledge base as a folder of Markdown files with front matter.

    ---
    title: Purging a URL
    slug: purging-a-url            # optional: the file name without .md
    category: caching              # a category slug (from _categories.yml, or existing)
    owner: alice@example.com       # or team:support - required
    status: published              # draft | published | archived
    internal: false
    related: [cache-keys]
    ---
    Markdown body...

`export` writes `<category>/<slug>.md` plus `_categories.yml`; `import` reads the same shape,
so export followed by import changes nothing. Import checks every file before it writes any:
one bad file stops the import with an error naming the file, and nothing is half-imported.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import frontmatter
import yaml
from django.db import transaction

from askonce.accounts.models import User
from askonce.core.errors import DomainError
from askonce.kb import actions
from askonce.kb.models import Article, ArticleStatus, Category
from askonce.kb.queries import Owner, owner_from_text

CATEGORIES_FILE = "_categories.yml"
_STATUSES = {status.value for status in ArticleStatus}


class ImportRefused(Exception):
    """One or more files cannot be imported; `problems` names each file and what is wrong."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class ParsedArticle:
    path: Path
    slug: str
    title: str
    body: str
    category: str
    owner: Owner
    status: str
    internal: bool
    related: list[str]


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    categories_created: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [
            f"{len(self.created)} created",
            f"{len(self.updated)} updated",
            f"{len(self.unchanged)} unchanged",
        ]
        if self.categories_created:
            parts.append(f"{len(self.categories_created)} categories created")
        return ", ".join(parts)


def _markdown_files(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*.md")
        if path.is_file() and not any(part.startswith((".", "_")) for part in path.parts[-1:])
    )


def _read_categories(folder: Path, problems: list[str]) -> list[dict[str, Any]]:
    path = folder / CATEGORIES_FILE
    if not path.exists():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        problems.append(f"{path}: not valid YAML: {error}")
        return []
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        problems.append(f"{path}: expected a list of categories (slug, name, owner, ...)")
        return []
    for item in data:
        if not item.get("slug"):
            problems.append(f"{path}: a category has no slug: {item!r}")
        if item.get("owner"):
            try:
                owner_from_text(str(item["owner"]))
            except DomainError as error:
                problems.append(f"{path}: category {item.get('slug')}: {error.message}")
    return data


def _parse_file(path: Path, folder: Path, known_categories: set[str]) -> ParsedArticle | str:
    """The article in one file, or a message naming the file and its problem."""
    name = path.relative_to(folder)
    try:
        post = frontmatter.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        return f"{name}: not UTF-8 text"
    except yaml.YAMLError as error:
        return f"{name}: the front matter is not valid YAML: {error}"
    meta = post.metadata
    owner_text = str(meta.get("owner") or "").strip()
    if not owner_text:
        return f"{name}: no owner: every article needs `owner:` (a staff email or team:<slug>)"
    try:
        owner = owner_from_text(owner_text)
    except DomainError as error:
        return f"{name}: {error.message}"
    title = str(meta.get("title") or "").strip()
    if not title:
        return f"{name}: no title in the front matter"
    category = str(meta.get("category") or "").strip()
    if not category:
        return f"{name}: no category in the front matter"
    if category not in known_categories:
        return (
            f"{name}: unknown category '{category}': add it to {CATEGORIES_FILE} or create it first"
        )
    status = str(meta.get("status") or "draft").strip()
    if status not in _STATUSES:
        return f"{name}: status '{status}' is not one of {', '.join(sorted(_STATUSES))}"
    related = meta.get("related") or []
    if not isinstance(related, list):
        return f"{name}: related must be a list of slugs"
    return ParsedArticle(
        path=path,
        slug=str(meta.get("slug") or path.stem).strip(),
        title=title,
        body=post.content.strip(),
        category=category,
        owner=owner,
        status=status,
        internal=bool(meta.get("internal", False)),
        related=[str(slug) for slug in related],
    )


def import_folder(
    folder: Path,
    *,
    actor: User | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Create or update the articles of a folder. Idempotent: a second run reports unchanged."""
    if not folder.is_dir():
        raise ImportRefused([f"{folder}: not a folder"])
    problems: list[str] = []
    categories = _read_categories(folder, problems)
    known = set(Category.objects.values_list("slug", flat=True)) | {
        str(item.get("slug")) for item in categories
    }
    parsed: list[ParsedArticle] = []
    seen: dict[str, Path] = {}
    for path in _markdown_files(folder):
        result = _parse_file(path, folder, known)
        if isinstance(result, str):
            problems.append(result)
            continue
        if result.slug in seen:
            problems.append(
                f"{path.relative_to(folder)}: slug '{result.slug}' is also used by "
                f"{seen[result.slug].relative_to(folder)}"
            )
            continue
        seen[result.slug] = path
        parsed.append(result)
    if problems:
        raise ImportRefused(problems)

    report = ImportReport()
    with transaction.atomic():
        for item in categories:
            _import_category(item, report)
        by_slug = {category.slug: category for category in Category.objects.all()}
        for number, article in enumerate(parsed, start=1):
            try:
                _import_article(article, by_slug[article.category], actor, report)
            except DomainError as error:
                raise ImportRefused(
                    [f"{article.path.relative_to(folder)}: {error.message}"]
                ) from None
            if progress is not None:
                progress(number, len(parsed))
        _import_related(parsed, report)
    return report


def _import_category(item: dict[str, Any], report: ImportReport) -> None:
    slug = str(item["slug"])
    owner = owner_from_text(str(item.get("owner") or ""))
    existing = Category.objects.filter(slug=slug).first()
    name = str(item.get("name") or slug.replace("-", " ").title())
    description = str(item.get("description") or "")
    review_interval_days = int(item.get("review_interval_days") or 180)
    position = int(item.get("position") or 0)
    wanted = {
        "name": name,
        "description": description,
        "owner_user_id": owner.user.pk if owner.user else None,
        "owner_team_id": owner.team.pk if owner.team else None,
        "review_interval_days": review_interval_days,
        "position": position,
    }
    if existing is not None and all(
        getattr(existing, key) == value for key, value in wanted.items()
    ):
        return
    actions.do_create_category(
        slug=slug,
        name=name,
        owner=owner,
        description=description,
        review_interval_days=review_interval_days,
        position=position,
    )
    if existing is None:
        report.categories_created.append(slug)


def _import_article(
    parsed: ParsedArticle, category: Category, actor: User | None, report: ImportReport
) -> None:
    note = f"Imported from {parsed.path.name}"
    article = Article.objects.filter(slug=parsed.slug).first()
    if article is None:
        article = actions.do_create_article(
            actor=None,
            title=parsed.title,
            body=parsed.body,
            category=category,
            owner=parsed.owner,
            slug=parsed.slug,
            internal=parsed.internal,
            note=note,
        )
        _apply_status(article, parsed.status, actor, report)
        report.created.append(parsed.slug)
        return
    _, changed = actions.do_update_article(
        article=article,
        actor=None,
        changes=actions.ArticleChanges(
            title=parsed.title,
            body=None if _same_text(parsed.body, article.body) else parsed.body,
            category=category,
            owner=parsed.owner,
            internal=parsed.internal,
        ),
        note=note,
    )
    article.refresh_from_db()
    status_changed = _apply_status(article, parsed.status, actor, report)
    (report.updated if changed or status_changed else report.unchanged).append(parsed.slug)


def _same_text(a: str, b: str) -> bool:
    """Equal but for line endings and trailing spaces, which a round trip through files loses."""

    def normal(text: str) -> list[str]:
        return [line.rstrip() for line in text.replace("\r\n", "\n").strip().splitlines()]

    return normal(a) == normal(b)


def _apply_status(article: Article, status: str, actor: User | None, report: ImportReport) -> bool:
    if status == article.status:
        return False
    if status == ArticleStatus.PUBLISHED:
        actions.do_publish_article(article=article, actor=None)
        return True
    if status == ArticleStatus.ARCHIVED:
        actions.do_archive_article(article=article, actor=None)
        return True
    report.notes.append(
        f"{article.slug}: is {article.status}; a file cannot turn it back into a draft (left as is)"
    )
    return False


def _import_related(parsed: list[ParsedArticle], report: ImportReport) -> None:
    wanted = [item for item in parsed if item.related]
    if not wanted:
        return
    articles = {a.slug: a for a in Article.objects.filter(slug__in=[p.slug for p in wanted])}
    targets = {
        a.slug: a
        for a in Article.objects.filter(slug__in={slug for p in wanted for slug in p.related})
    }
    for item in wanted:
        article = articles[item.slug]
        missing = [slug for slug in item.related if slug not in targets]
        if missing:
            report.notes.append(f"{item.slug}: related articles not found: {', '.join(missing)}")
        current = set(article.related.values_list("slug", flat=True))
        new = {slug for slug in item.related if slug in targets and slug != item.slug}
        if not new <= current:
            article.related.add(*[targets[slug] for slug in new - current])


def export_folder(folder: Path) -> tuple[int, list[str]]:
    """Write every article as `<category>/<slug>.md` and the categories to _categories.yml.

    Returns how many articles were written and the slugs of those without an owner (an import
    refuses those files until someone adds one)."""
    folder.mkdir(parents=True, exist_ok=True)
    categories = []
    for category in Category.objects.select_related("owner_user", "owner_team").order_by("slug"):
        entry: dict[str, Any] = {
            "slug": category.slug,
            "name": category.name,
            "review_interval_days": category.review_interval_days,
            "position": category.position,
        }
        if category.description:
            entry["description"] = category.description
        owner = Owner(user=category.owner_user, team=category.owner_team).label
        if owner:
            entry["owner"] = owner
        categories.append(entry)
    (folder / CATEGORIES_FILE).write_text(
        yaml.safe_dump(categories, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    count = 0
    unowned: list[str] = []
    articles = Article.objects.select_related("category", "owner_user", "owner_team").order_by(
        "slug"
    )
    for article in articles.prefetch_related("related"):
        meta: dict[str, Any] = {
            "title": article.title,
            "slug": article.slug,
            "category": article.category.slug,
            "owner": article.owner_label,
            "status": article.status,
            "internal": article.internal,
        }
        if not article.owner_label:
            unowned.append(article.slug)
        related = sorted(other.slug for other in article.related.all())
        if related:
            meta["related"] = related
        post = frontmatter.Post(article.body.strip(), **meta)
        target = folder / article.category.slug / f"{article.slug}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(frontmatter.dumps(post, sort_keys=False) + "\n", encoding="utf-8")
        count += 1
    return count, unowned
