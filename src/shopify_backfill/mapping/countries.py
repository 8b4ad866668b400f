"""ISO 3166-1 alpha-2 country codes, and how Shopify's extra codes are read.

Shopify's ``CountryCode`` enum is close to ISO 3166-1 but not equal: it adds reserved
codes for places ISO files under another country, a user-assigned code for Kosovo, a
withdrawn code and an "unknown region" placeholder. The decisions for each are here, in
one place, and a test checks that every value of the real 2026-07 enum is covered.
"""

from __future__ import annotations

from typing import Final

_ASSIGNED_CODES = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
    BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
    DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET
    FI FJ FK FM FO FR
    GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
    HK HM HN HR HT HU
    ID IE IL IM IN IO IQ IR IS IT
    JE JM JO JP
    KE KG KH KI KM KN KP KR KW KY KZ
    LA LB LC LI LK LR LS LT LU LV LY
    MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
    NA NC NE NF NG NI NL NO NP NR NU NZ
    OM
    PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA
    RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
    TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
    UA UG UM US UY UZ
    VA VC VE VG VI VN VU
    WF WS
    YE YT
    ZA ZM ZW
"""

ISO_3166_ALPHA2: Final[frozenset[str]] = frozenset(_ASSIGNED_CODES.split())
"""The 249 officially assigned codes."""

SHOPIFY_CODE_ALIASES: Final[dict[str, str]] = {
    "AC": "SH",  # Ascension Island: part of Saint Helena, Ascension and Tristan da Cunha
    "TA": "SH",  # Tristan da Cunha: same territory in ISO 3166-1
    "XK": "XK",  # Kosovo: user-assigned, but the code every platform and carrier uses
}
"""Shopify codes outside ISO 3166-1 that still name a place we can store."""

SHOPIFY_UNMAPPABLE: Final[dict[str, str]] = {
    "ZZ": "Shopify's 'unknown region'",
    "AN": "Netherlands Antilles, dissolved in 2010 (no single successor code)",
}
"""Shopify codes that name no current country: the attribute is left unset, with a note."""
