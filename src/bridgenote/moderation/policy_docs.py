"""Policy documents: the built-in defaults and the checks an admin's edit must pass.

A policy document is data (stored in ``moderation_policies.document`` and every version in
``moderation_policy_versions``)::

    {"name": {"en": ..., "zh-Hans": ...}, "summary": {...},
     "rules": [{"code", "category" | "keywords"/"patterns", "action", "min_score",
                "family_scores", "exclude", "title": {...}, "description": {...}}],
     "links": {"deny": [...], "allow": [...]}}

The built-in documents below apply until an admin stores a policy with the same code;
after that the stored one wins. Admin-entered patterns run on RE2 (``google-re2``), which
matches in linear time, so a pattern cannot hang the screening worker.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from bridgenote.core.errors import ValidationFailed

# Categories a rule may name: the lexicon's, plus what the other detectors report.
DETECTOR_CATEGORIES = (
    "abuse",
    "sexual",
    "scam",
    "spam",
    "violence",
    "drugs",
    "cannabis",
    "gambling",
    "ecig",
    "rx_drugs",
    "nudity",
    "link_denied",
    "flood",
    "velocity",
    "new_account",
    "link_limit",
)
FAMILIES = ("keywords", "custom", "classifier", "model", "links", "behaviour", "image")
MAX_PATTERN_LENGTH = 300
MAX_PROGRAM_SIZE = 5000
EU_REGIONS = (
    "AT",
    "BE",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HU",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "ES",
    "SE",
)
# Nested repetition such as (a+)+ or (a*)*: harmless on RE2, but a classic catastrophic
# pattern in every backtracking engine the rules might be exported to, and almost always a typo.
_NESTED_REPEAT = re.compile(r"\((?:[^()\\]|\\.)*[+*}]\)\s*[+*{]")


def _t(en: str, zh: str) -> dict[str, str]:
    return {"en": en, "zh-Hans": zh}


def _rule(
    code: str, category: str, action: str, title: dict[str, str], description: dict[str, str], **extra: Any
) -> dict[str, Any]:
    return {"code": code, "category": category, "action": action, "title": title, "description": description, **extra}


_GLOBAL_RULES = [
    _rule(
        "abuse",
        "abuse",
        "hold",
        _t("Insults, profanity and harassment", "辱骂、脏话与骚扰"),
        _t(
            "Attacking or swearing at people is held for review, and may be removed.",
            "攻击或辱骂他人的内容会被暂缓发布并人工审核，可能被删除。",
        ),
        min_score=0.8,
    ),
    _rule(
        "sexual",
        "sexual",
        "hold",
        _t("Sexual content and solicitation", "色情内容与招嫖"),
        _t(
            "Explicit sexual content and offers of sexual services are not allowed.",
            "不允许露骨的色情内容或提供色情服务。",
        ),
    ),
    _rule(
        "nudity",
        "nudity",
        "hold",
        _t("Nudity in images", "图片中的裸露"),
        _t(
            "Images showing exposed intimate body parts are held for review.",
            "含有暴露隐私部位的图片会被暂缓发布并人工审核。",
        ),
        min_score=0.6,
    ),
    _rule(
        "scam",
        "scam",
        "reject",
        _t("Scams and fraud", "诈骗"),
        _t(
            "Promises of guaranteed returns, fake prizes and other frauds are removed.",
            "承诺稳赚不赔、虚假中奖等诈骗内容会被删除。",
        ),
    ),
    _rule(
        "spam",
        "spam",
        "hold",
        _t("Spam and fake engagement", "垃圾信息与虚假互动"),
        _t(
            "Follow-for-follow, bought followers and contact-farming posts are held for review.",
            "互粉互赞、买粉、引流加微信等内容会被暂缓发布并人工审核。",
        ),
    ),
    _rule(
        "violence",
        "violence",
        "hold",
        _t("Threats of violence", "暴力威胁"),
        _t(
            "Threatening to hurt someone is held for review and may lead to a suspension.",
            "威胁伤害他人的内容会被人工审核，并可能导致封号。",
        ),
    ),
    _rule(
        "drugs",
        "drugs",
        "reject",
        _t("Illegal drugs", "毒品"),
        _t("Selling or promoting illegal drugs is not allowed anywhere.", "任何地区都不允许买卖或宣传毒品。"),
    ),
    _rule(
        "bad-links",
        "link_denied",
        "reject",
        _t("Harmful links", "有害链接"),
        _t(
            "Links to IP loggers and known malicious sites are removed.", "指向 IP 记录器和已知恶意网站的链接会被删除。"
        ),
    ),
    _rule(
        "floods",
        "flood",
        "hold",
        _t("Copy-paste floods", "刷屏"),
        _t(
            "Posting the same text again and again, alone or with others, is held for review.",
            "反复发布相同内容（无论一人还是多人）会被暂缓发布并人工审核。",
        ),
    ),
    _rule(
        "velocity",
        "velocity",
        "hold",
        _t("Posting too fast", "发帖过快"),
        _t(
            "Bursts of posts far above normal use are held for review.",
            "远超正常频率的连续发帖会被暂缓发布并人工审核。",
        ),
    ),
    _rule(
        "new-accounts",
        "new_account",
        "hold",
        _t("Extra screening for new accounts", "新账号加强审核"),
        _t(
            "During surges, posts by new or limited accounts are reviewed before they spread.",
            "在流量高峰期间，新账号或受限账号的内容会先经过审核再广泛展示。",
        ),
    ),
    _rule(
        "link-limit",
        "link_limit",
        "hold",
        _t("Link limits for new accounts", "新账号链接限制"),
        _t(
            "During surges, new accounts may post only a few links; more are held for review.",
            "在流量高峰期间，新账号只能发布少量链接，超出部分会被审核。",
        ),
    ),
]
for _category, _en, _zh in (
    ("cannabis", "Cannabis", "大麻"),
    ("gambling", "Gambling and betting", "赌博与博彩"),
    ("ecig", "E-cigarettes and vaping", "电子烟"),
    ("rx_drugs", "Prescription drugs", "处方药"),
):
    _GLOBAL_RULES.append(
        _rule(
            _category.replace("_", "-"),
            _category,
            "allow",
            _t(_en, _zh),
            _t(
                "Allowed unless the viewer's regional policy says otherwise.",
                "除非观看者所在地区的政策另有规定，否则允许。",
            ),
        )
    )


def _regional(category: str, action: str, en: str, zh: str, why_en: str, why_zh: str) -> dict[str, Any]:
    return _rule(category.replace("_", "-"), category, action, _t(en, zh), _t(why_en, why_zh))


DEFAULT_POLICIES: dict[str, dict[str, Any]] = {
    "global": {
        "regions": [],
        "document": {
            "name": _t("Community rules (everywhere)", "社区规则（全球）"),
            "summary": _t(
                "These rules apply to everyone, wherever they are. Regional rules add to them.",
                "以下规则适用于所有用户，无论身在何处。各地区规则在此基础上补充。",
            ),
            "rules": _GLOBAL_RULES,
            "links": {"deny": ["grabify.link", "iplogger.org", "iplogger.com", "2no.co", "blasze.com"], "allow": []},
        },
    },
    "CN": {
        "regions": ["CN"],
        "document": {
            "name": _t("Rules for viewers in mainland China", "中国大陆地区规则"),
            "summary": _t(
                "Content that is lawful elsewhere but not in mainland China is hidden from viewers there.",
                "在其他地区合法、但在中国大陆不合法的内容，不向中国大陆的用户展示。",
            ),
            "rules": [
                _regional(
                    "cannabis",
                    "limit",
                    "Cannabis",
                    "大麻",
                    "Cannabis is illegal in mainland China.",
                    "大麻在中国大陆属于违禁品。",
                ),
                _regional(
                    "gambling",
                    "limit",
                    "Gambling and betting",
                    "赌博与博彩",
                    "Gambling promotion is illegal in mainland China.",
                    "在中国大陆宣传赌博属于违法行为。",
                ),
                _regional(
                    "ecig",
                    "limit",
                    "E-cigarettes",
                    "电子烟",
                    "Online sale and promotion of e-cigarettes is banned.",
                    "禁止在网上销售和宣传电子烟。",
                ),
                _regional(
                    "rx_drugs",
                    "limit",
                    "Prescription drugs",
                    "处方药",
                    "Prescription drugs may not be offered without a prescription.",
                    "不得在无处方的情况下提供处方药。",
                ),
            ],
            "links": {"deny": [], "allow": []},
        },
    },
    "US": {
        "regions": ["US"],
        "document": {
            "name": _t("Rules for viewers in the United States", "美国地区规则"),
            "summary": _t(
                "Age-restricted products are labelled; prescription drug offers are hidden.",
                "年龄限制类商品会被加上标签；处方药销售信息会被隐藏。",
            ),
            "rules": [
                _regional(
                    "cannabis",
                    "label",
                    "Cannabis",
                    "大麻",
                    "Legal in some states only: shown with a notice.",
                    "仅在部分州合法：显示时附带提示。",
                ),
                _regional(
                    "gambling",
                    "label",
                    "Gambling and betting",
                    "赌博与博彩",
                    "Shown with a responsible-gambling notice.",
                    "显示时附带理性博彩提示。",
                ),
                _regional(
                    "ecig",
                    "label",
                    "E-cigarettes",
                    "电子烟",
                    "Age-restricted: shown with a notice.",
                    "有年龄限制：显示时附带提示。",
                ),
                _regional(
                    "rx_drugs",
                    "limit",
                    "Prescription drugs",
                    "处方药",
                    "Offering prescription drugs without a prescription is illegal.",
                    "在无处方的情况下提供处方药属于违法行为。",
                ),
            ],
            "links": {"deny": [], "allow": []},
        },
    },
    "EU": {
        "regions": list(EU_REGIONS),
        "document": {
            "name": _t("Rules for viewers in the European Union", "欧盟地区规则"),
            "summary": _t(
                "E-cigarette advertising and prescription drug offers are hidden; cannabis and betting carry a notice.",
                "电子烟广告和处方药销售信息会被隐藏；大麻和博彩内容会附带提示。",
            ),
            "rules": [
                _regional(
                    "cannabis",
                    "label",
                    "Cannabis",
                    "大麻",
                    "Rules differ between member states: shown with a notice.",
                    "各成员国规定不同：显示时附带提示。",
                ),
                _regional(
                    "gambling",
                    "label",
                    "Gambling and betting",
                    "赌博与博彩",
                    "Shown with a responsible-gambling notice.",
                    "显示时附带理性博彩提示。",
                ),
                _regional(
                    "ecig",
                    "limit",
                    "E-cigarettes",
                    "电子烟",
                    "E-cigarette advertising is banned (Tobacco Products Directive).",
                    "《烟草制品指令》禁止电子烟广告。",
                ),
                _regional(
                    "rx_drugs",
                    "limit",
                    "Prescription drugs",
                    "处方药",
                    "Prescription drugs may not be advertised to the public.",
                    "不得向公众宣传处方药。",
                ),
            ],
            "links": {"deny": [], "allow": []},
        },
    },
}


# ---------------------------------------------------------------- validation of admin edits


@cache
def _re2() -> Any:
    import importlib

    return importlib.import_module("re2")


def compile_pattern(pattern: str) -> Any:
    """Compile an admin pattern with RE2, case-insensitively. Raises ``ValueError`` with a
    short explanation when the pattern is unusable."""
    re2 = _re2()
    if not pattern or len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"patterns are 1 to {MAX_PATTERN_LENGTH} characters")
    if _NESTED_REPEAT.search(pattern):
        raise ValueError("nested repetition such as (a+)+ is refused (catastrophic backtracking)")
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = False
    options.max_mem = 1 << 20
    try:
        compiled = re2.compile(pattern, options)
    except Exception as exc:  # re2 raises its own error type, with bytes
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(detail) from exc
    if compiled.programsize > MAX_PROGRAM_SIZE:
        raise ValueError("the pattern is too complex")
    if compiled.search("") is not None:
        raise ValueError("the pattern matches empty text, so it would match everything")
    return compiled


def check_document(document: dict[str, Any]) -> None:
    """Checks that need more than the request schema: unique rule codes and compilable
    patterns. Raises :class:`ValidationFailed` (422) naming the rule, before anything is stored."""
    seen: set[str] = set()
    for rule in document.get("rules", []):
        code = rule["code"]
        if code in seen:
            raise ValidationFailed("Rule {rule} appears twice in this policy.", code="duplicate_rule", rule=code)
        seen.add(code)
        if not rule.get("category") and not rule.get("keywords") and not rule.get("patterns"):
            raise ValidationFailed(
                "Rule {rule} needs a category, keywords or patterns to match.", code="empty_rule", rule=code
            )
        for pattern in rule.get("patterns") or ():
            try:
                compile_pattern(pattern)
            except ValueError as exc:
                raise ValidationFailed(
                    "Rule {rule} has a pattern that cannot be used: {problem}",
                    code="invalid_pattern",
                    rule=code,
                    problem=str(exc),
                ) from exc
