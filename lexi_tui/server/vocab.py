"""Vocabulary shared by the chat intent parser and the seed generator.

Keeping the words in one place means a task Lexi creates from chat and a seeded task look
alike (same canonical titles and industries, same description phrasing).
"""

from __future__ import annotations

import re

# (pattern, canonical title, plural used in descriptions)
TITLES: tuple[tuple[str, str, str], ...] = (
    (r"\bceos?\b|\bchief executive officers?\b", "CEO", "CEOs"),
    (r"\bctos?\b|\bchief technology officers?\b", "CTO", "CTOs"),
    (r"\bcfos?\b|\bchief financial officers?\b", "CFO", "CFOs"),
    (r"\bcoos?\b|\bchief operating officers?\b", "COO", "COOs"),
    (r"\bcmos?\b|\bchief marketing officers?\b", "CMO", "CMOs"),
    (r"\bcisos?\b|\bchief information security officers?\b", "CISO", "CISOs"),
    (r"\bcios?\b|\bchief information officers?\b", "CIO", "CIOs"),
    (r"\b(?:vps?|vice presidents?) (?:of )?sales\b", "VP of Sales", "VPs of Sales"),
    (r"\b(?:vps?|vice presidents?) (?:of )?marketing\b", "VP of Marketing", "VPs of Marketing"),
    (r"\b(?:vps?|vice presidents?) (?:of )?engineering\b", "VP of Engineering", "VPs of Engineering"),
    (r"\bheads? of marketing\b", "Head of Marketing", "Heads of Marketing"),
    (r"\bheads? of sales\b", "Head of Sales", "Heads of Sales"),
    (r"\bheads? of growth\b", "Head of Growth", "Heads of Growth"),
    (r"\bheads? of (?:people|hr)\b", "Head of People", "Heads of People"),
    (r"\bsales directors?\b|\bdirectors? of sales\b", "Director of Sales", "Directors of Sales"),
    (r"\bmarketing directors?\b|\bdirectors? of marketing\b", "Director of Marketing", "Directors of Marketing"),
    (r"\bco-?founders?\b", "Co-Founder", "co-founders"),
    (r"(?<!co-)(?<!co)\bfounders?\b", "Founder", "founders"),
    (r"\bmanaging partners?\b", "Managing Partner", "managing partners"),
    (r"(?<!managing )\bpartners?\b", "Partner", "partners"),
    (r"\bgeneral counsels?\b", "General Counsel", "general counsels"),
    (r"\battorneys?\b|\blawyers?\b", "Attorney", "attorneys"),
    (r"(?<!vice )\bpresidents?\b", "President", "presidents"),
    (r"\bowners?\b", "Owner", "owners"),
    (r"\brecruiters?\b", "Recruiter", "recruiters"),
    (r"\bproduct managers?\b", "Product Manager", "product managers"),
    (r"\baccount executives?\b", "Account Executive", "account executives"),
)

# (pattern, canonical industry, phrase used in descriptions: "at <phrase>")
INDUSTRIES: tuple[tuple[str, str, str], ...] = (
    (r"\blaw firms?\b|\blaw practices?\b|\blegal\b", "Legal", "law firms"),
    (r"\bsaas\b", "Computer Software", "SaaS companies"),
    (r"\bsoftware\b", "Computer Software", "software companies"),
    (r"\bbanks?\b|\bbanking\b", "Banking", "banks"),
    (r"\bhospitals?\b|\bhealth systems?\b|\bclinics?\b", "Hospital & Health Care", "hospitals"),
    (r"\bhealth ?care\b", "Hospital & Health Care", "healthcare companies"),
    (r"\bfintech\b", "Financial Services", "fintech companies"),
    (r"\bfinancial services\b", "Financial Services", "financial services firms"),
    (r"\binsurance\b|\binsurers?\b", "Insurance", "insurance companies"),
    (r"\breal estate\b|\brealtors?\b", "Real Estate", "real estate firms"),
    (r"\b(?:marketing|advertising|ad|creative) agenc(?:y|ies)\b", "Marketing & Advertising", "marketing agencies"),
    (r"\bit services\b|\bmanaged service providers?\b|\bmsps?\b", "Information Technology & Services", "IT services firms"),
    (r"\baccounting firms?\b|\bcpa firms?\b", "Accounting", "accounting firms"),
    (r"\bconstruction\b", "Construction", "construction companies"),
    (r"\buniversit(?:y|ies)\b|\bcolleges?\b", "Higher Education", "universities"),
    (r"\bedtech\b|\be-?learning\b", "E-Learning", "edtech companies"),
    (r"\be-?commerce\b|\bonline retailers?\b", "Internet", "e-commerce brands"),
    (r"\bretail(?:ers?)?\b", "Retail", "retailers"),
    (r"\bmanufactur(?:ers?|ing)\b", "Manufacturing", "manufacturers"),
    (r"\bbiotech(?:nology)?\b", "Biotechnology", "biotech companies"),
    (r"\bpharma(?:ceuticals?)?\b", "Pharmaceuticals", "pharma companies"),
    (r"\blogistics\b|\bsupply chain\b|\bfreight\b", "Logistics & Supply Chain", "logistics companies"),
    (r"\bconsulting\b|\bconsultanc(?:y|ies)\b", "Management Consulting", "consulting firms"),
    (r"\bventure capital\b|\bvc firms?\b|\bprivate equity\b", "Venture Capital & Private Equity", "VC and PE firms"),
    (r"\bhotels?\b|\bhospitality\b", "Hospitality", "hotels"),
    (r"\brestaurants?\b", "Restaurants", "restaurants"),
    (r"\bnon-?profits?\b|\bcharit(?:y|ies)\b", "Nonprofit Organization Management", "nonprofits"),
    (r"\btelecom(?:munications)?\b", "Telecommunications", "telecom companies"),
    (r"\bautomotive\b|\bcar dealerships?\b", "Automotive", "automotive companies"),
    (r"\bcyber ?security\b", "Computer & Network Security", "cybersecurity companies"),
    (r"\btech(?:nology)?(?: companies| startups| firms)?\b", "Information Technology & Services", "tech companies"),
)

# Lower-case spellings that should not simply be title-cased.
LOCATION_ALIASES: dict[str, str] = {
    "nyc": "New York",
    "sf": "San Francisco",
    "la": "Los Angeles",
    "dc": "Washington, D.C.",
    "uk": "United Kingdom",
    "us": "United States",
    "usa": "United States",
    "the us": "United States",
    "the uk": "United Kingdom",
    "uae": "United Arab Emirates",
    "emea": "EMEA",
    "apac": "APAC",
    "dach": "DACH",
}

_COMPILED_TITLES = [(re.compile(p, re.IGNORECASE), t, plural) for p, t, plural in TITLES]
_COMPILED_INDUSTRIES = [(re.compile(p, re.IGNORECASE), i, phrase) for p, i, phrase in INDUSTRIES]


def find_titles(text: str) -> list[tuple[str, str]]:
    """Canonical titles mentioned in `text`, in the order they appear, as (title, plural)."""
    found: list[tuple[int, str, str]] = []
    for pattern, title, plural in _COMPILED_TITLES:
        match = pattern.search(text)
        if match and all(title != t for _, t, _ in found):
            found.append((match.start(), title, plural))
    return [(title, plural) for _, title, plural in sorted(found)]


def find_industries(text: str) -> list[tuple[str, str]]:
    """Canonical industries mentioned in `text`, in order, as (industry, description phrase)."""
    found: list[tuple[int, str, str]] = []
    for pattern, industry, phrase in _COMPILED_INDUSTRIES:
        match = pattern.search(text)
        if match and all(industry != i for _, i, _ in found):
            found.append((match.start(), industry, phrase))
    return [(industry, phrase) for _, industry, phrase in sorted(found)]


def plural_for_title(title: str) -> str:
    """The plural used in descriptions for a canonical title (falls back to adding an s)."""
    for _, known, plural in TITLES:
        if known == title:
            return plural
    return title + "s"


def phrase_for_industry(industry: str) -> str:
    """The description phrase for a canonical industry ("Legal" -> "law firms")."""
    for _, known, phrase in INDUSTRIES:
        if known == industry:
            return phrase
    return f"{industry} companies"


def join_words(words: list[str]) -> str:
    """Join for prose: "a", "a and b", "a, b and c"."""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def tidy_location(text: str) -> str:
    """Normalise a location the user typed: known aliases, else title case if all lower."""
    cleaned = text.strip(" \t'\"")
    alias = LOCATION_ALIASES.get(cleaned.lower())
    if alias:
        return alias
    if cleaned == cleaned.lower():
        small = {"of", "the", "and", "de", "du", "la"}
        words = cleaned.split()
        return " ".join(w if (i and w in small) else w[:1].upper() + w[1:] for i, w in enumerate(words))
    return cleaned


# Pools the seed generator draws from (realistic, varied, deterministic given a seed).
SEED_LOCATIONS = (
    "California", "New York", "Texas", "Florida", "Illinois", "Massachusetts", "Washington",
    "Colorado", "Georgia", "London", "Toronto", "Berlin", "Austin", "Chicago", "Boston",
    "San Francisco", "Seattle", "Denver", "Miami", "United Kingdom", "Germany", "Ontario",
)
SEED_CAMPAIGNS = (
    "Q2 Outreach", "Q3 Legal Ops Push", "Spring Webinar Follow-up", "Partner Referral Drive",
    "LegalTech Summit Invites", "Renewal Nudge", "Cold Intro – Series B SaaS", "Win-back Q1 Churn",
    "Product Launch: Clause Library", "Holiday Check-in", "In-house Counsel Nurture",
    "Case Study: Acme LLP", "Pricing Update Notice", "Event: Legal Innovators NYC",
)
SEED_LISTS = (
    "Q3 Targets", "Top Law Firms – West Coast", "Webinar Attendees May", "Hot Leads",
    "Enterprise Accounts", "In-house Counsel – Fortune 500", "Do Not Contact", "Trade Show Leads",
    "Series B SaaS CFOs", "Referral Partners", "Boston Healthcare", "Churn Risk",
)
SEED_STAGES = ("new", "contacted", "qualified", "meeting_booked", "proposal", "nurture", "unqualified")
SEED_OWNERS = ("Maya Chen", "Jordan Ellis", "Priya Natarajan", "Sam Okafor", "Lena Fischer")
SEED_TAGS = ("webinar-2026", "conference", "high-intent", "legal-ops", "referral", "needs-review")
SEED_DISMISS_REASONS = (
    "not_relevant", "manual_execution", "incorrect_params", "duplicate", "testing",
    "Not relevant right now", "Wrong region – we don't sell there yet",
    "Already covered by the Q2 campaign", "Too broad, will refine the search",
)
