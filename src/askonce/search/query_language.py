"""The search box's language, parsed into terms that each engine then quotes for itself.

What people type: words (all must match), "quoted phrases", word* (prefix), -word (exclude).
Nothing else is an operator: AND, OR, NEAR, parentheses, ^, column filters such as `title:x`
are ordinary text. A term is kept as runs of letters and digits, so no character of the input
can reach an engine's query syntax (the text as typed goes only to PostgreSQL functions that
read no operators, as a parameter); any input, however odd, parses to terms or to none.
"""

import re
from dataclasses import dataclass

# Bounds on the work one query can cause: the text read, the terms kept, and words per term.
MAX_QUERY_CHARACTERS = 2_000
MAX_TERMS = 32
MAX_WORDS_PER_TERM = 16
# `a*` would expand to every word starting with "a": shorter prefixes are searched as words.
# Counted after the English stemmer's plural rule, which FTS5 applies to prefixes too: `res*`
# would become `re*`, matching nearly everything, slowly.
MIN_PREFIX_CHARACTERS = 3

# Control characters and lone surrogates (which no database accepts) are dropped first.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
# A phrase is `"…"` (an unclosed quote runs to the end); anything else up to blank or quote
# is one word-ish token.
_TOKEN = re.compile(r'(?P<minus>-?)"(?P<phrase>[^"]*)"?|(?P<word>[^\s"]+)')
# Letters and digits in any script; everything else separates words, as in FTS5's unicode61
# tokenizer and PostgreSQL's parser.
_WORD = re.compile(r"[^\W_]+")

# English stop words (PostgreSQL's `english` list): typed as words among others, they are left
# out, since they match nearly every document and decide nothing.
STOP_WORDS = frozenset(
    """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself
    she her hers herself it its itself they them their theirs themselves what which who whom
    this that these those am is are was were be been being have has had having do does did
    doing a an the and but if or because as until while of at by for with about against
    between into through during before after above below to from up down in out on off over
    under again further then once here there when where why how all any both each few more
    most other some such no nor not only own same so than too very s t can will just don
    should now d ll m o re ve y ain aren couldn didn doesn hadn hasn haven isn ma mightn
    mustn needn shan shouldn wasn weren won wouldn
    """.split()
)


@dataclass(frozen=True, slots=True)
class Term:
    """One thing the user asked for: a word, a phrase (several words in order) or a prefix."""

    words: tuple[str, ...]
    # The text as typed (controls removed), for engines whose own parser does better with it,
    # e.g. PostgreSQL keeps `ops@example.com` as one lexeme.
    text: str
    prefix: bool = False
    excluded: bool = False
    quoted: bool = False

    @property
    def is_stop_word(self) -> bool:
        """A word like "the" typed as a word; a quoted phrase or a prefix is never one."""
        return not self.quoted and not self.prefix and all(w in STOP_WORDS for w in self.words)


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    terms: tuple[Term, ...]

    @property
    def required(self) -> tuple[Term, ...]:
        return tuple(term for term in self.terms if not term.excluded)

    @property
    def excluded(self) -> tuple[Term, ...]:
        return tuple(term for term in self.terms if term.excluded)

    @property
    def is_empty(self) -> bool:
        return not self.required

    def relaxed(self) -> "ParsedQuery | None":
        """The query to retry with "any of these terms" when "all of them" found nothing.

        None for a query of one term, or of stop words alone (which match nearly everything)."""
        wanted = tuple(term for term in self.required if not term.is_stop_word)
        if not wanted or len(self.required) == 1:
            return None
        return ParsedQuery(terms=wanted + self.excluded)


def parse_query(text: str) -> ParsedQuery:
    """The terms of what was typed into the search box; never raises."""
    cleaned = _UNSAFE.sub(" ", text[: MAX_QUERY_CHARACTERS * 2])[:MAX_QUERY_CHARACTERS]
    terms: list[Term] = []
    seen: set[tuple[tuple[str, ...], bool, bool]] = set()
    for match in _TOKEN.finditer(cleaned):
        term = _term(match)
        if term is None:
            continue
        key = (term.words, term.prefix, term.excluded)
        if key in seen:
            continue
        seen.add(key)
        terms.append(term)
        if len(terms) == MAX_TERMS:
            break
    if not any(not term.excluded for term in terms):
        return ParsedQuery(terms=())  # excluding from nothing finds nothing
    # Stop words typed as words ("how do I reset my password") are left out when other words
    # remain, as PostgreSQL's english configuration does: they would match nearly every
    # document and decide nothing. Quoted phrases keep theirs.
    if any(not term.excluded and not term.is_stop_word for term in terms):
        terms = [term for term in terms if term.excluded or not term.is_stop_word]
    return ParsedQuery(terms=tuple(terms))


def _term(match: re.Match[str]) -> Term | None:
    quoted = match.group("word") is None
    if quoted:
        text = match.group("phrase")
        excluded = bool(match.group("minus"))
        prefix = False
    else:
        text = match.group("word")
        excluded = text.startswith("-") and len(text) > 1
        if excluded:
            text = text[1:]
        prefix = text.endswith("*")
    all_words = [word.lower() for word in _WORD.findall(text)]
    words = tuple(all_words[:MAX_WORDS_PER_TERM])
    if not words:
        return None
    if prefix and len(_without_plural(words[-1])) < MIN_PREFIX_CHARACTERS:
        prefix = False
    # A phrase cut to MAX_WORDS_PER_TERM keeps only its words, so both engines search the same.
    text = " ".join(text.split()) if len(all_words) == len(words) else " ".join(words)
    return Term(words=words, text=text, prefix=prefix, excluded=excluded, quoted=quoted)


def _without_plural(word: str) -> str:
    """The word after step 1a of the Porter stemmer (sses -> ss, ies -> i, s -> nothing)."""
    if word.endswith("sses") or word.endswith("ies"):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word
