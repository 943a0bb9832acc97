"""The screening pipeline without a database: text in, rule hits and per-policy decisions out.

``screen_text`` runs every detector over one :class:`~bridgenote.moderation.normalize.Analysis`
and returns :class:`Hit` objects (what the content looks like, with a score and the family
of detector that saw it). ``decide`` applies the policies to the hits (what each region does
about it). Both are pure functions, so the benchmark and the screening job run the same code.

Families: ``keywords`` (built-in lexicon, incl. pinyin and its own patterns), ``custom``
(keywords and patterns admins put in a policy rule), ``classifier`` (alt-profanity-check,
glin-profanity word lists), ``model`` (the trained naive Bayes), ``links``, ``behaviour``
and ``image``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from bridgenote.moderation import classifiers, lexicon
from bridgenote.moderation.normalize import Analysis, analyse, domain_of

SEVERITY = {"allow": 0, "label": 1, "limit": 2, "hold": 3, "reject": 4}
SUFFIXES = "(?:s|es|ed|ing|er|ers|y)?"
STRONG = 1.0
CUE = 0.3
CUE_CAP = 0.9
DEFAULT_MIN_SCORE = 0.75
# The model's probabilities are overconfident (naive Bayes); a rule trusts it only near certainty.
DEFAULT_FAMILY_SCORES = {"model": 0.97}


@dataclass(frozen=True)
class Hit:
    family: str
    category: str
    rule: str
    score: float
    evidence: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "category": self.category,
            "rule": self.rule,
            "score": round(self.score, 3),
            "evidence": self.evidence[:80],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Hit:
        return cls(
            family=str(data.get("family", "")),
            category=str(data.get("category", "")),
            rule=str(data.get("rule", "")),
            score=float(data.get("score", 0.0)),
            evidence=str(data.get("evidence", "")),
        )


# ---------------------------------------------------------------- compiled word lists


def _latin_regex(terms: Iterable[str]) -> re.Pattern[str] | None:
    terms = sorted({t for t in terms if t and t.isascii()}, key=len, reverse=True)
    if not terms:
        return None
    long = [re.escape(t).replace(r"\ ", r"\s+") for t in terms if len(t) >= 4 and t[-1].isalpha()]
    short = [re.escape(t).replace(r"\ ", r"\s+") for t in terms if not (len(t) >= 4 and t[-1].isalpha())]
    parts = []
    if long:
        parts.append(f"(?:{'|'.join(long)}){SUFFIXES}")
    if short:
        parts.append(f"(?:{'|'.join(short)})")
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(parts) + r")(?![a-z0-9])")


def _hanzi_terms(terms: Iterable[str]) -> tuple[str, ...]:
    return tuple(t for t in terms if t and not t.isascii())


@dataclass
class WordList:
    """One category's terms in a matchable form."""

    latin: re.Pattern[str] | None
    hanzi: tuple[str, ...]
    hanzi_re: re.Pattern[str] | None
    mixed: tuple[str, ...]  # terms mixing hanzi and Latin ("加vx", "k粉"): substring of the folded text
    pinyin: dict[str, list[tuple[tuple[str, ...], str]]]

    @classmethod
    def build(cls, terms: Iterable[str], *, with_pinyin: bool = False) -> WordList:
        from bridgenote.moderation.normalize import hanzi_pinyin

        terms = [t.casefold() for t in terms]
        hanzi = _hanzi_terms(t for t in terms if re.fullmatch(r"[\u3400-\u9fff]+", t))
        mixed = tuple(t for t in terms if not t.isascii() and not re.fullmatch(r"[\u3400-\u9fff]+", t))
        hanzi_re = re.compile("|".join(map(re.escape, sorted(hanzi, key=len, reverse=True)))) if hanzi else None
        pinyin: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        if with_pinyin:
            for term in hanzi:
                if len(term) >= 2:
                    syllables = tuple(hanzi_pinyin(term))
                    if len(syllables) == len(term):
                        pinyin[syllables[0]].append((syllables, term))
        return cls(
            latin=_latin_regex(t for t in terms if t.isascii()),
            hanzi=hanzi,
            hanzi_re=hanzi_re,
            mixed=mixed,
            pinyin=dict(pinyin),
        )

    def find(self, a: Analysis, excluded: Sequence[tuple[str, int, int]] = ()) -> set[str]:
        """Distinct terms found in ``a`` (outside excluded spans)."""
        found: set[str] = set()
        if self.latin is not None:
            for view in a.latin_views:
                for m in self.latin.finditer(view):
                    if not _inside(excluded, "latin", m.start(), m.end()):
                        found.add(re.sub(r"\s+", " ", m.group(0)))
        if self.hanzi_re is not None and a.hanzi:
            for term, start, end in _overlapping(self.hanzi_re, a.hanzi):
                if len(term) < 3 and not (start in a.boundaries and end in a.boundaries):
                    continue
                if not _inside(excluded, "hanzi", start, end):
                    found.add(term)
        for term in self.mixed:
            if term in a.folded:
                found.add(term)
        if self.pinyin and a.pinyin:
            syllables = [s for s, _latin in a.pinyin]
            for i, syllable in enumerate(syllables):
                for candidate, term in self.pinyin.get(syllable, ()):
                    n = len(candidate)
                    if tuple(syllables[i : i + n]) != candidate:
                        continue
                    typed = any(latin for _s, latin in a.pinyin[i : i + n])
                    if not typed and any(v == "hanzi" and term in a.hanzi[s:e] for v, s, e in excluded):
                        continue  # the characters themselves sit inside an excluded phrase
                    if n >= 3 or typed:
                        found.add(term)
        return found


def _overlapping(pattern: re.Pattern[str], text: str) -> Iterable[tuple[str, int, int]]:
    """Every match, including ones that start inside an earlier match (``操你妈的`` has both
    ``操你妈`` and ``你妈的``)."""
    position = 0
    while position < len(text):
        m = pattern.search(text, position)
        if m is None:
            return
        yield m.group(0), m.start(), m.end()
        position = m.start() + 1


def _inside(excluded: Sequence[tuple[str, int, int]], view: str, start: int, end: int) -> bool:
    return any(v == view and s <= start and end <= e for v, s, e in excluded)


def _exclusion_spans(a: Analysis, terms: Sequence[str]) -> list[tuple[str, int, int]]:
    spans: list[tuple[str, int, int]] = []
    for term in terms:
        term = term.casefold()
        if term.isascii():
            for view in a.latin_views:
                spans.extend(("latin", m.start(), m.end()) for m in re.finditer(re.escape(term), view))
        else:
            hanzi = re.sub(r"[^\u3400-\u9fff]", "", term)
            if hanzi:
                spans.extend(("hanzi", m.start(), m.end()) for m in re.finditer(re.escape(hanzi), a.hanzi))
    return spans


@dataclass
class CompiledCategory:
    code: str
    strong: WordList
    weak: WordList
    context: WordList
    exclude: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    weak_patterns: tuple[re.Pattern[str], ...]


@cache
def compiled_lexicon() -> tuple[CompiledCategory, ...]:
    out = []
    for c in lexicon.CATEGORIES:
        out.append(
            CompiledCategory(
                code=c.code,
                strong=WordList.build([*c.en.strong, *c.zh.strong], with_pinyin=True),
                weak=WordList.build([*c.en.weak, *c.zh.weak]),
                context=WordList.build([*c.en.context, *c.zh.context]),
                exclude=(*c.en.exclude, *c.zh.exclude),
                patterns=tuple(re.compile(p) for p in (*c.en.patterns, *c.zh.patterns)),
                weak_patterns=tuple(re.compile(p) for p in (*c.en.weak_patterns, *c.zh.weak_patterns)),
            )
        )
    return tuple(out)


def score_terms(strong: set[str], weak: set[str], context: set[str]) -> float:
    if strong:
        return STRONG
    if not weak:
        return 0.0
    return min(CUE_CAP, CUE * (len(weak) + len(context)))


def lexicon_hits(a: Analysis) -> list[Hit]:
    hits = []
    for c in compiled_lexicon():
        excluded = _exclusion_spans(a, c.exclude) if c.exclude else []
        strong = c.strong.find(a, excluded)
        for pattern in c.patterns:
            for view in (a.folded, a.latin):
                m = pattern.search(view)
                if m:
                    strong.add(m.group(0))
                    break
        weak = c.weak.find(a, excluded)
        for pattern in c.weak_patterns:
            m = pattern.search(a.folded)
            if m:
                weak.add(m.group(0))
        context = c.context.find(a, excluded) if weak and not strong else set()
        score = score_terms(strong, weak, context)
        if score > 0:
            evidence = ", ".join(sorted(strong or weak | context))
            hits.append(Hit("keywords", c.code, f"lexicon:{c.code}", score, evidence))
    return hits


def link_hits(a: Analysis, *, deny: Iterable[str] = (), rule: str = "links:deny") -> list[Hit]:
    domains = [domain_of(u) for u in a.urls]
    denied = {d.lower().removeprefix("www.") for d in deny}
    hits = []
    for domain in domains:
        if any(domain == d or domain.endswith("." + d) for d in denied):
            hits.append(Hit("links", "link_denied", rule, STRONG, domain))
    return hits


def link_domains(a: Analysis) -> list[str]:
    return [domain_of(u) for u in a.urls]


def screen_text(text: str, *, use_model: bool = True) -> tuple[Analysis, list[Hit]]:
    """Every built-in detector over one text (policy-specific rules come in :func:`decide`)."""
    a = analyse(text)
    hits = lexicon_hits(a)
    hits.extend(classifiers.profanity_hits(a))
    if use_model:
        hits.extend(classifiers.model_hits(a))
    shortened = [d for d in link_domains(a) if d in lexicon.SHORTENERS]
    if shortened:
        hits.append(Hit("links", "spam", "links:shortener", 0.5, shortened[0]))
    return a, hits


# ---------------------------------------------------------------- policies


@dataclass(frozen=True)
class CustomMatcher:
    """An admin rule's own keywords (per language) and RE2 patterns, compiled once per version."""

    words: WordList | None
    patterns: tuple[Any, ...]
    exclude: tuple[str, ...]

    def find(self, a: Analysis) -> str | None:
        excluded = _exclusion_spans(a, self.exclude) if self.exclude else []
        if self.words is not None:
            found = self.words.find(a, excluded)
            if found:
                return ", ".join(sorted(found))
        for pattern in self.patterns:
            for view in (a.folded, a.latin):
                m = pattern.search(view)
                if m:
                    return str(m.group(0))
        return None


@dataclass(frozen=True)
class Rule:
    code: str
    category: str | None
    action: str
    min_score: float
    family_scores: dict[str, float]
    matcher: CustomMatcher | None
    label: str | None


@dataclass(frozen=True)
class CompiledPolicy:
    code: str
    version: int
    regions: tuple[str, ...]
    rules: tuple[Rule, ...]
    deny_domains: tuple[str, ...]
    allow_domains: tuple[str, ...]

    @property
    def is_global(self) -> bool:
        return not self.regions


def compile_policy(code: str, version: int, regions: Sequence[str], document: dict[str, Any]) -> CompiledPolicy:
    """Turn a stored (already validated) policy document into matchers."""
    from bridgenote.moderation import policy_docs

    rules = []
    for raw in document.get("rules", []):
        words = [w for ws in (raw.get("keywords") or {}).values() for w in ws]
        patterns = tuple(policy_docs.compile_pattern(p) for p in raw.get("patterns") or ())
        matcher = None
        if words or patterns:
            matcher = CustomMatcher(
                words=WordList.build(words, with_pinyin=True) if words else None,
                patterns=patterns,
                exclude=tuple(raw.get("exclude") or ()),
            )
        rules.append(
            Rule(
                code=str(raw["code"]),
                category=raw.get("category"),
                action=str(raw["action"]),
                min_score=float(raw.get("min_score", DEFAULT_MIN_SCORE)),
                family_scores={**DEFAULT_FAMILY_SCORES, **(raw.get("family_scores") or {})},
                matcher=matcher,
                label=raw.get("label_code") or (raw["code"] if raw.get("action") == "label" else None),
            )
        )
    links = document.get("links") or {}
    return CompiledPolicy(
        code=code,
        version=version,
        regions=tuple(regions),
        rules=tuple(rules),
        deny_domains=tuple(links.get("deny") or ()),
        allow_domains=tuple(links.get("allow") or ()),
    )


@dataclass
class RuleMatch:
    policy: str
    rule: str
    action: str
    category: str | None
    evidence: str

    def as_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "rule": self.rule,
            "action": self.action,
            "category": self.category,
            "evidence": self.evidence[:80],
        }


@dataclass
class Outcome:
    """What the policies make of one piece of content."""

    action: str = "allow"  # the most severe effect: allow, label, limit (in some regions), hold, reject
    limited_regions: set[str] = field(default_factory=set)
    labels: set[str] = field(default_factory=set)
    regional: dict[str, str] = field(default_factory=dict)
    matches: list[RuleMatch] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    review: bool = False  # someone should look (a hold, anywhere)

    @property
    def rules(self) -> list[str]:
        return [f"{m.policy}:{m.rule}" for m in self.matches]


def _rule_fires(rule: Rule, hits: Sequence[Hit], a: Analysis | None) -> str | None:
    if rule.matcher is not None and a is not None:
        found = rule.matcher.find(a)
        if found:
            return found
    if rule.category is None:
        return None
    for hit in hits:
        if hit.category != rule.category:
            continue
        needed = rule.family_scores.get(hit.family, rule.min_score)
        if hit.score >= needed:
            return hit.evidence or hit.rule
    return None


def decide(hits: Sequence[Hit], policies: Sequence[CompiledPolicy], analysis: Analysis | None = None) -> Outcome:
    """Apply every active policy. A global reject or hold applies everywhere; a regional
    reject, hold or limit hides the content in that policy's regions (a regional hold also
    asks for review); labels add up."""
    outcome = Outcome(hits=list(hits))
    for policy in policies:
        policy_hits = list(hits)
        if analysis is not None and policy.deny_domains:
            denied = link_hits(analysis, deny=policy.deny_domains, rule=f"{policy.code}:links")
            policy_hits += denied
            outcome.hits += denied
        action = "allow"
        for rule in policy.rules:
            evidence = _rule_fires(rule, policy_hits, analysis)
            if evidence is None:
                continue
            outcome.matches.append(RuleMatch(policy.code, rule.code, rule.action, rule.category, evidence))
            if rule.action == "label" and rule.label:
                outcome.labels.add(rule.label)
            if SEVERITY[rule.action] > SEVERITY[action]:
                action = rule.action
        outcome.regional[policy.code] = action
        if action == "allow" or action == "label":
            continue
        if policy.is_global:
            effect = "hold" if action == "limit" else action
            outcome.review = outcome.review or effect == "hold"
        else:
            outcome.limited_regions.update(policy.regions)
            outcome.review = outcome.review or action == "hold"
            effect = "limit"
        if SEVERITY[effect] > SEVERITY[outcome.action]:
            outcome.action = effect
    if outcome.action == "allow" and outcome.labels:
        outcome.action = "label"
    return outcome


def violation_categories(outcome: Outcome) -> set[str]:
    return {m.category or m.rule for m in outcome.matches if m.action != "allow"}
