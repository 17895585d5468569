"""The plain keyword baseline every coder is compared with on real text.

One case-insensitive regex per category, written once from the coding guide's wording
(``../shared/devgold/guide.md``) before any dev-set sentence was read, and never tuned since:
it is the two-minute list an analyst would write by hand. A coder that does not beat it on
real documents is not worth its complexity.
"""

# ruff: noqa: E501
from __future__ import annotations

import re

KEYWORDS = {
    "military_cooperation": r"military|defen[cs]e|army|armed forces|exercise|askeri|savunma|военн|оборон",
    "regional_integration": r"integration|unity|solidarity|turkic world|common alphabet|observer|birlik|единств|интеграц",
    "economic_security": r"econom|trade|investment|transport|corridor|customs|ekonomi|ticaret|эконом|торгов",
    "counter_terrorism": r"terror|extremis|radical|drug|trafficking|terör|террор|экстрем",
    "cybersecurity": r"cyber|information security|disinformation|siber|кибер",
    "energy_security": r"energy|oil|gas|pipeline|electricity|enerji|энерг|нефт|газ",
    "border_security": r"border|frontier|migration|sınır|границ",
    "south_caucasus_conflict": r"karabakh|armenia|occupation|zangezur|karabağ|ermenistan|карабах|армени",
    "russian_influence": r"russia|kremlin|moscow|csto|eaeu|rusya|росси|кремл|москв",
    "central_asian_instability": r"instability|unrest|afghanistan|taliban|coup|afganistan|афганистан|беспоряд",
    "china_expansion": r"china|chinese|beijing|belt and road|uyghur|çin|китай|пекин",
    "russia_ukraine_war": r"ukrain|ukrayna|украин",
    "cyber_hybrid_threats": r"cyber.?attack|hybrid|disinformation|siber saldır|кибератак|гибридн",
    "terrorism_transnational": r"terror|extremis|organized crime|drug|trafficking|terör|террор|экстрем|наркот",
}

COMPILED = {c: re.compile(p, re.IGNORECASE) for c, p in KEYWORDS.items()}


def keyword_codes(text: str) -> set[str]:
    """The categories whose keyword regex matches ``text``."""
    return {c for c, rx in COMPILED.items() if rx.search(text)}
