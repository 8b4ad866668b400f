"""Deterministic synthetic shop data, streamed into the store's SQLite tables.

The data is nasty on purpose, because the backfill must survive real merchants: repeat
buyers with a Zipf-like skew, guest orders, missing and invalid emails and phones (each
customer's own, as Shopify keeps them unique in a store; contacts shared between people
appear on orders: guest checkouts, households, other addresses), names in many scripts
(accents, CJK, emoji, right-to-left), 250-tag customers, every marketing-consent state,
custom line items without a product, quantities above 100, orders with more than 250
line items, cancelled and test orders, several presentment currencies, and orders placed
exactly on the 90-day window's boundary seconds.

Memory stays bounded by the number of customers, never by orders: generation runs in
three passes over integer arrays (customer creation times; orders streamed in chunks
while per-customer aggregates accumulate; customers written last with aggregates that
match their orders). Every value derives from the seed, so the same arguments always
build the same store byte for byte.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import time
import zlib
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson

DAY = 86_400
ORDER_SPAN_DAYS = 200
CUSTOMER_SPAN_DAYS = 400
WINDOW_DAYS = 90
CAPPED_DAYS = 60
CHUNK = 2_000

SHOP_CURRENCY = "USD"
# Presentment currencies: (code, units per USD, decimals).
CURRENCIES: tuple[tuple[str, float, int], ...] = (
    ("EUR", 0.92, 2),
    ("GBP", 0.79, 2),
    ("CAD", 1.36, 2),
    ("JPY", 157.0, 0),
    ("AUD", 1.52, 2),
)
ID_STRIDE = 32_768  # consecutive Shopify ids differ by multiples of 2**15
CUSTOMER_ID_BASE = 7_412_345_602_048
ORDER_ID_BASE = 5_218_765_062_144
LINE_ITEM_ID_BASE = 13_287_654_326_272
SHIPPING_LINE_ID_BASE = 4_398_046_511_104
ADDRESS_ID_BASE = 8_796_093_022_208
PRODUCT_ID_BASE = 8_143_062_237_184
VARIANT_ID_BASE = 44_281_200_345_088


# --------------------------------------------------------------------------- helpers


def iso(epoch: int) -> str:
    """Shopify's DateTime format: UTC, second precision, ``Z`` suffix."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


@lru_cache(maxsize=32_768)
def money_text(units: int, decimals: int = 2) -> str:
    """Minor units as Shopify's Decimal text: ``5500 -> "55.0"``, ``1250 -> "12.5"``."""
    sign = "-" if units < 0 else ""
    units = abs(units)
    if decimals == 0:
        return f"{sign}{units}.0"
    scale = 10**decimals
    whole, frac = divmod(units, scale)
    digits = f"{frac:0{decimals}d}".rstrip("0") or "0"
    return f"{sign}{whole}.{digits}"


class DocCodec:
    """orjson + raw deflate with a preset dictionary: documents shrink about tenfold.

    Documents repeat the same keys and money shapes, which a shared dictionary captures;
    each blob still decompresses on its own (no cross-row state), in about 10 us.
    """

    def __init__(self, zdict: bytes) -> None:
        self.zdict = zdict

    def encode(self, doc: dict[str, Any]) -> bytes:
        packer = zlib.compressobj(1, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, self.zdict)
        return packer.compress(orjson.dumps(doc)) + packer.flush()

    def decode(self, blob: bytes) -> dict[str, Any]:
        unpacker = zlib.decompressobj(-15, self.zdict)
        value: dict[str, Any] = orjson.loads(unpacker.decompress(blob) + unpacker.flush())
        return value


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def sort_tags(tags: Sequence[str]) -> list[str]:
    """Shopify returns tags de-duplicated and sorted case-insensitively."""
    seen: dict[str, str] = {}
    for tag in tags:
        seen.setdefault(tag.lower(), tag)
    return sorted(seen.values(), key=str.lower)


def _rng(seed: int, salt: int, index: int) -> random.Random:
    return random.Random((seed * 1_000_003 + salt) * 10_000_019 + index)


def _slot_times(start: int, end: int, count: int, rng: random.Random) -> Iterator[int]:
    """``count`` non-decreasing integer times spread over ``[start, end)`` (one per slot)."""
    width = (end - start) / max(count, 1)
    for index in range(count):
        yield int(start + (index + rng.random()) * width)


def _pins(
    count: int, start: int, end: int, boundaries: Iterator[int] | tuple[int, ...]
) -> dict[int, int]:
    """Slot overrides putting items exactly on ``boundary - 1``, ``boundary``, ``boundary + 1``.

    Slot ``k`` contains the boundary; with slots at least a second wide, giving its
    neighbours the adjacent seconds keeps the sequence non-decreasing. Returned as
    ``{slot: time}`` so times can stream without being held in memory.
    """
    pins: dict[int, int] = {}
    width = (end - start) / max(count, 1)
    if count < 3 or width < 1:
        return pins
    for boundary in boundaries:
        if not start <= boundary < end:
            continue
        k = min(int((boundary - start) / width), count - 1)
        pins[k] = boundary
        if k > 0:
            pins[k - 1] = boundary - 1
        if k + 1 < count:
            pins[k + 1] = boundary + 1
    return pins


def _pinned_times(
    start: int, end: int, count: int, rng: random.Random, pins: dict[int, int]
) -> Iterator[int]:
    for index, moment in enumerate(_slot_times(start, end, count, rng)):
        yield pins.get(index, moment)


# --------------------------------------------------------------------------- pools

# (display, ascii slug) pairs; no name starts with "How" (a conformance capture expects
# the prefix search ``How*`` to match nothing).
FIRST_NAMES: tuple[tuple[str, str], ...] = (
    ("Karine", "karine"),
    ("José", "jose"),
    ("Zoë", "zoe"),
    ("François", "francois"),
    ("Łukasz", "lukasz"),
    ("Søren", "soren"),
    ("Chloé", "chloe"),
    ("Björn", "bjorn"),
    ("Núria", "nuria"),
    ("Émile", "emile"),
    ("Siobhán", "siobhan"),
    ("Jürgen", "jurgen"),
    ("Maëlle", "maelle"),
    ("İlkay", "ilkay"),
    ("Ana", "ana"),
    ("Mateo", "mateo"),
    ("Grace", "grace"),
    ("Liam", "liam"),
    ("Olivia", "olivia"),
    ("Noah", "noah"),
    ("Emma", "emma"),
    ("Lucas", "lucas"),
    ("Mia", "mia"),
    ("Ethan", "ethan"),
    ("太郎", "taro"),
    ("花子", "hanako"),
    ("芳", "fang"),
    ("伟", "wei"),
    ("민준", "minjun"),
    ("서연", "seoyeon"),
    ("محمد", "mohammed"),
    ("فاطمة", "fatima"),
    ("שרה", "sarah"),
    ("דוד", "david"),
    ("Дмитрий", "dmitry"),
    ("Ελένη", "eleni"),
    ("अनीता", "anita"),
    ("Anna 🌸", "anna"),
    ("Max 🚀", "max"),
    ("Nguyễn Thị", "thi"),
)
LAST_NAMES: tuple[tuple[str, str], ...] = (
    ("Müller", "muller"),
    ("García", "garcia"),
    ("O'Connor", "oconnor"),
    ("Nguyễn", "nguyen"),
    ("Østergaard", "ostergaard"),
    ("Dubois", "dubois"),
    ("Kowalski", "kowalski"),
    ("Fernández", "fernandez"),
    ("Smith", "smith"),
    ("Brown", "brown"),
    ("van der Berg", "vanderberg"),
    ("D'Angelo", "dangelo"),
    ("Tremblay", "tremblay"),
    ("Ruby", "ruby"),
    ("Winfield", "winfield"),
    ("Lee", "lee"),
    ("山田", "yamada"),
    ("佐藤", "sato"),
    ("王", "wang"),
    ("李", "li"),
    ("김", "kim"),
    ("박", "park"),
    ("الحسن", "alhassan"),
    ("כהן", "cohen"),
    ("Иванов", "ivanov"),
    ("Παπαδοπούλου", "papadopoulou"),
    ("शर्मा", "sharma"),
    ("🦄", "unicorn"),
)
EMAIL_DOMAINS = ("example.com", "example.org", "mail.example.net", "example.co.uk")
INVALID_EMAIL_FORMS = (
    "jane.doe{n}@",
    "no-at-sign{n}.example.com",
    "a{n}@b",
    "two{n}@@example.com",
    "spaces in{n}@example.com",
    "trailing.dot{n}.@example.com",
)
"""Invalid addresses, each made the customer's own by ``{n}`` (the customer's position).

Shopify keeps a customer's email unique within a store, so even a malformed one is held
by one customer only; the number changes nothing about why the address is invalid."""
PLACEHOLDER_PHONES = ("n/a", "00000000000")
"""Placeholders typed where a phone was required, each held by one customer per store."""
KEYPAD = ("ABC", "DEF", "GHI", "JKL", "MNO", "PQRS", "TUV", "WXYZ")
"""Letters of the keys 2-9: a vanity number's letters dial these digits."""


@dataclass(frozen=True, slots=True)
class Region:
    country: str
    code: str | None
    dial: str
    provinces: tuple[tuple[str | None, str | None, tuple[str, ...]], ...]
    zips: tuple[str, ...]


REGIONS: tuple[Region, ...] = (
    Region(
        "Canada",
        "CA",
        "1",
        (
            ("Ontario", "ON", ("Toronto", "Ottawa")),
            ("Quebec", "QC", ("Montréal", "Québec")),
            ("British Columbia", "BC", ("Vancouver",)),
        ),
        ("M5H 1A1", "K2P2L8", "H2X 1Y4", "V6B 1A1"),
    ),
    Region(
        "United States",
        "US",
        "1",
        (
            ("California", "CA", ("Los Angeles", "San Francisco")),
            ("New York", "NY", ("New York",)),
            ("Washington", "WA", ("Seattle",)),
            ("Texas", "TX", ("Austin",)),
        ),
        ("98104", "10001", "94103", "73301"),
    ),
    Region(
        "France",
        "FR",
        "33",
        ((None, None, ("Paris", "Lyon", "Marseille")),),
        ("75001", "69002", "13001"),
    ),
    Region(
        "Germany",
        "DE",
        "49",
        ((None, None, ("Berlin", "München", "Köln")),),
        ("10115", "80331", "50667"),
    ),
    Region(
        "Japan",
        "JP",
        "81",
        (("Tokyo", "JP-13", ("渋谷区", "新宿区")), ("Osaka", "JP-27", ("大阪市",))),
        ("150-0002", "530-0001"),
    ),
    Region(
        "United Kingdom",
        "GB",
        "44",
        ((None, None, ("London", "Manchester")),),
        ("SW1A 1AA", "M1 1AE"),
    ),
    Region("Brazil", "BR", "55", (("São Paulo", "SP", ("São Paulo",)),), ("01310-100",)),
    Region("Israel", "IL", "972", ((None, None, ("תל אביב", "Haifa")),), ("6100000",)),
    Region("United Arab Emirates", "AE", "971", (("Dubai", "DU", ("دبي",)),), ()),
    Region("Utopia", None, "0", ((None, None, ("Amaurote",)),), ()),
)
STREETS: dict[str, tuple[str, ...]] = {
    "CA": ("151 O'Connor St", "1 King St W", "105 Victoria St", "4500 rue Saint-Denis"),
    "US": ("600 4th Ave", "350 5th Ave", "1 Market St", "2100 Guadalupe St"),
    "FR": ("12 rue de Rivoli", "8 quai Saint-Antoine", "3 La Canebière"),
    "DE": ("Unter den Linden 5", "Marienplatz 8", "Hohe Straße 12"),
    "JP": ("1-2-3 Shibuya", "西新宿2-8-1", "梅田1-1-3"),
    "GB": ("221B Baker Street", "10 Deansgate"),
    "BR": ("Av. Paulista 1000",),
    "IL": ("Rothschild Blvd 22", "רחוב הרצל 5"),
    "AE": ("Sheikh Zayed Rd", "شارع الشيخ زايد 12"),
}
CUSTOMER_TAGS = (
    "VIP",
    "referral",
    "wholesale",
    "newsletter",
    "Repeat",
    "loyalty-gold",
    "élite",
    "会員",
    "influencer",
    "b2b",
    "Prospect",
    "retail",
)
ORDER_TAGS = ("gift", "priority", "wholesale", "subscription", "fraud-review", "pos", "Promo")
LOCALES = ("en", "en", "en", "fr", "de", "ja", "pt-BR", "es", "en-CA", "he", "ar")
SOURCE_NAMES = ("web",) * 14 + ("pos", "pos", "shopify_draft_order", "iphone", "android", "294517")
DISCOUNT_CODES = ("WELCOME10", "SUMMER25", "VIP-ÉTÉ", "FREESHIP", "BLACKFRIDAY")
VENDORS = ("Acme Outfitters", "Nordlys", "Maison Léa", "東京ギア", "Cactus & Co")
PRODUCT_WORDS = (
    "Snowboard",
    "Ski Wax",
    "Hoodie",
    "Mug",
    "Beanie",
    "Backpack",
    "Water Bottle",
    "Socks",
    "T-Shirt",
    "Gift Card",
    "Sticker Pack",
    "Gloves",
)
ADJECTIVES = ("Classic", "Alpine", "Midnight", "Organic", "Café", "Neon", "Arctic", "Zen")
VARIANT_TITLES = ("Small", "Medium", "Large", "Red / M", "Blue / L", "Default Title")
CUSTOM_ITEMS = ("Gift wrapping", "Engraving", "Custom fitting", "Rush handling")
EMAIL_STATES = (
    ("NOT_SUBSCRIBED", 45),
    ("SUBSCRIBED", 30),
    ("UNSUBSCRIBED", 12),
    ("PENDING", 5),
    ("INVALID", 4),
    ("REDACTED", 4),
)
SMS_STATES = (
    ("NOT_SUBSCRIBED", 50),
    ("SUBSCRIBED", 25),
    ("UNSUBSCRIBED", 15),
    ("PENDING", 5),
    ("REDACTED", 5),
)
CUSTOMER_STATES = (("DISABLED", 80), ("ENABLED", 14), ("INVITED", 4), ("DECLINED", 2))
FINANCIAL = (
    ("PAID", 82),
    ("PENDING", 6),
    ("AUTHORIZED", 5),
    ("PARTIALLY_REFUNDED", 3),
    ("PARTIALLY_PAID", 2),
    ("REFUNDED", 1),
    ("EXPIRED", 1),
)


def _weighted(rng: random.Random, table: Sequence[tuple[str, int]]) -> str:
    pick = rng.random() * sum(weight for _, weight in table)
    for value, weight in table:
        pick -= weight
        if pick < 0:
            return value
    return table[-1][0]


def _phone_number(phone: str, sms_consent: dict[str, Any] | None) -> dict[str, Any]:
    """``defaultPhoneNumber`` holding the same SMS consent as ``smsMarketingConsent``.

    Shopify deprecated ``Customer.smsMarketingConsent`` for ``defaultPhoneNumber.marketing*``
    (the schema's deprecation reason): both are one consent. Left to the filler, the
    address-level state was invented apart from the stored one, and REST's
    ``sms_marketing_consent`` (rendered from ``defaultPhoneNumber``) contradicted GraphQL.
    """
    number: dict[str, Any] = {"phoneNumber": phone}
    if sms_consent is not None:
        number.update(
            marketingState=sms_consent["marketingState"],
            marketingOptInLevel=sms_consent["marketingOptInLevel"],
            marketingUpdatedAt=sms_consent["consentUpdatedAt"],
            marketingCollectedFrom=sms_consent["consentCollectedFrom"],
        )
    return number


def email_address_state(email_state: str) -> str:
    """``CustomerEmailAddressMarketingState`` has no ``REDACTED``: report it UNSUBSCRIBED.

    A redacted consent means the merchant may no longer email the address; the closest
    value the address-level enum offers is ``UNSUBSCRIBED`` (documented as a fidelity note).
    """
    return "UNSUBSCRIBED" if email_state == "REDACTED" else email_state


# --------------------------------------------------------------------------- catalog


@dataclass(frozen=True, slots=True)
class Variant:
    id: int
    title: str
    sku: str | None
    price_cents: int


@dataclass(frozen=True, slots=True)
class Product:
    id: int
    title: str
    vendor: str
    variants: tuple[Variant, ...]


def build_catalog(seed: int, size: int = 240) -> list[Product]:
    rng = _rng(seed, 7, 0)
    products: list[Product] = []
    variant_number = 0
    for index in range(size):
        title = f"{rng.choice(ADJECTIVES)} {rng.choice(PRODUCT_WORDS)} {index + 1}"
        variants = []
        for _ in range(rng.choice((1, 1, 2, 3))):
            variant_number += 1
            sku = None if rng.random() < 0.05 else f"SKU-{index + 1:04d}-{variant_number:05d}"
            price = rng.choice((500, 1250, 1999, 2500, 4999, 5500, 12000, 64995, 99))
            variants.append(
                Variant(
                    VARIANT_ID_BASE + variant_number * ID_STRIDE,
                    rng.choice(VARIANT_TITLES),
                    sku,
                    price,
                )
            )
        products.append(
            Product(
                PRODUCT_ID_BASE + (index + 1) * ID_STRIDE,
                title,
                rng.choice(VENDORS),
                tuple(variants),
            )
        )
    return products


# --------------------------------------------------------------------------- customers


def _names(seed: int, index: int) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
    rng = _rng(seed, 1, index)
    roll = rng.random()
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    if roll < 0.03:
        return None, None
    if roll < 0.05:
        return first, None
    if roll < 0.06:
        return None, last
    return first, last


def _base_email(seed: int, index: int) -> str:
    first, last = _names(seed, index)
    domain = EMAIL_DOMAINS[index % len(EMAIL_DOMAINS)]
    local = ".".join(part[1] for part in (first, last) if part) or "customer"
    return f"{local}{index}@{domain}"


SHARED_PHONE_RATE = 0.03
"""Share of address phones drawn from the fictional 555-01XX pool (households, a shop's
own number typed in at the till). Address phones need not be unique on Shopify."""

CUSTOMER_AREAS = ("613", "416", "206", "212", "415")
"""Area codes of customers' own phones."""
GUEST_AREAS = ("647", "905", "718", "510", "312")
"""Area codes of guests' own phones: disjoint from customers', so a guest's phone equals
a customer's only where the generator means it to."""
_EXCHANGES = tuple(e for e in range(200, 1000) if e != 555 and e % 100 != 11)
_PHONE_MULTIPLIER = 15_485_863
"""A prime coprime to every phone space below, so ``slot -> number`` is a bijection."""


def _phone(rng: random.Random, region: Region) -> str:
    """A number that passes E.164 validation (address phones: may repeat, as in a store)."""
    if region.dial == "1":
        area = rng.choice(CUSTOMER_AREAS)
        if rng.random() < SHARED_PHONE_RATE:
            return _pool_phone(rng)
        exchange = rng.randint(200, 999)
        if exchange == 555 or exchange % 100 == 11:
            exchange = 556
        return f"+1{area}{exchange}{rng.randint(0, 9999):04d}"
    return f"+{region.dial}{rng.randint(10**8, 10**9 - 1)}"


def _pool_phone(rng: random.Random) -> str:
    """One of the 500 fictional 555-01XX numbers that a household or a till shares."""
    return f"+1{rng.choice(CUSTOMER_AREAS)}5550{rng.randint(100, 199)}"


def unique_phone(seed: int, slot: int, areas: Sequence[str] = CUSTOMER_AREAS) -> str:
    """The E.164 North American number of ``slot``: distinct slots, distinct numbers.

    Shopify refuses a customer phone another customer of the store has ("Phone has
    already been taken"), and random numbers collide (200,000 customers drawn from 40
    million numbers share about 500). A permutation of the slot keeps the numbers
    random-looking and distinct by construction; exchange 555 and N11 codes are avoided,
    so no number falls in the shared 555-01XX pool.
    """
    space = len(areas) * len(_EXCHANGES) * 10_000
    if not 0 <= slot < space:
        raise ValueError(f"phone slot {slot} outside 0..{space - 1}")
    mixed = (slot * _PHONE_MULTIPLIER + seed * 2_654_435_761) % space
    mixed, line = divmod(mixed, 10_000)
    area, exchange = divmod(mixed, len(_EXCHANGES))
    return f"+1{areas[area]}{_EXCHANGES[exchange]}{line:04d}"


def _invalid_phone(rng: random.Random, index: int) -> str:
    """An unusable phone that is still the customer's own once normalised.

    Too few digits (``12345``), a vanity number in the unassigned 555 area (its letters
    dial a distinct number per customer, so even a parser that accepts it sees no two
    customers share it) or an unassigned country code (``+999``).
    """
    form = rng.randrange(3)
    if form == 0 and index < 1_000_000:
        return f"{index:05d}"
    if form == 1 and index < 8**7:
        letters = []
        for _ in range(7):
            index, key = divmod(index, 8)
            letters.append(rng.choice(KEYPAD[key]))
        word = "".join(reversed(letters))
        return f"+1 555 {word[:4]} {word[4:]}"
    return f"+999 {index:04d}"


def _address(
    rng: random.Random, address_id: int, first: str | None, last: str | None, model: str
) -> dict[str, Any]:
    region = REGIONS[min(int(rng.random() ** 1.6 * len(REGIONS)), len(REGIONS) - 1)]
    province, province_code, cities = rng.choice(region.provinces)
    city = rng.choice(cities)
    zip_code = rng.choice(region.zips) if region.zips and rng.random() > 0.05 else None
    country_part = region.country
    area = f"{city} {province_code}, {country_part}" if province_code else f"{city}, {country_part}"
    address1 = rng.choice(STREETS.get(region.code or "", ("Ocean Drive 7",)))
    address2 = rng.choice(("Apt 4B", "Suite 210", "2e étage")) if rng.random() < 0.2 else None
    company = (
        rng.choice(("Acme Inc.", "Société Générale", "株式会社テスト"))
        if rng.random() < 0.1
        else None
    )
    name = " ".join(part for part in (first, last) if part) or None
    phone = _phone(rng, region) if rng.random() < 0.4 else None
    line2 = " ".join(part for part in (city, province_code, zip_code) if part)
    return {
        "id": f"gid://shopify/MailingAddress/{address_id}?model_name={model}",
        "address1": address1,
        "address2": address2,
        "city": city,
        "company": company,
        "coordinatesValidated": False,
        "country": region.country,
        "countryCodeV2": region.code,
        "firstName": first,
        "lastName": last,
        "formatted": [
            part for part in (company, address1, address2, line2, region.country) if part
        ],
        "formattedArea": area,
        "latitude": None,
        "longitude": None,
        "name": name,
        "phone": phone,
        "province": province,
        "provinceCode": province_code,
        "timeZone": None,
        "validationResultSummary": None,
        "zip": zip_code,
    }


@dataclass(frozen=True, slots=True)
class Profile:
    """A customer's static attributes, a pure function of (seed, index)."""

    first_name: str | None
    last_name: str | None
    email: str | None
    email_valid: bool
    phone: str | None
    address: dict[str, Any] | None
    tags: list[str]
    email_state: str | None
    sms_state: str | None
    state: str
    locale: str
    note: str | None
    tax_exempt: bool
    verified_email: bool


def customer_profile(seed: int, index: int, customer_count: int) -> Profile:
    """The customer at ``index``; its email and phone are held by no other customer.

    Shopify keeps both unique within a store (``customerCreate``: "Email has already been
    taken", "Phone has already been taken"), compared after normalisation: emails trimmed
    and case-insensitively, phones in E.164. Emails carry the customer's position, phones
    come from ``unique_phone`` / ``_invalid_phone`` by position, and each placeholder phone
    goes to one fixed position. Contacts shared between people live on orders instead
    (``_Contacts``), where real stores have them.
    """
    rng = _rng(seed, 2, index)
    first_pair, last_pair = _names(seed, index)
    first = first_pair[0] if first_pair else None
    last = last_pair[0] if last_pair else None
    roll = rng.random()
    email: str | None
    email_valid = True
    if roll < 0.08:
        email = None
    elif roll < 0.10:
        email = rng.choice(INVALID_EMAIL_FORMS).format(n=index)
        email_valid = False
    else:
        email = _base_email(seed, index)
        if rng.random() < 0.05:
            email = email[0].upper() + email[1:]
    region_rng = _rng(seed, 3, index)
    address = None
    if rng.random() < 0.8:
        address = _address(
            region_rng, ADDRESS_ID_BASE + index * ID_STRIDE, first, last, "CustomerAddress"
        )
    phone: str | None = None
    phone_roll = rng.random()
    if (email is None and phone_roll < 0.6) or (email is not None and phone_roll < 0.55):
        invalid = rng.random() < 0.04
        phone = _invalid_phone(rng, index) if invalid else unique_phone(seed, index)
    placeholders = {customer_count // 7: PLACEHOLDER_PHONES[0]}
    if customer_count >= 22:
        placeholders[customer_count // 11] = PLACEHOLDER_PHONES[1]
    phone = placeholders.get(index, phone)
    tags: list[str] = []
    if index == customer_count // 4 or rng.random() < 0.001:
        tags = [f"segment-{n:03d}" for n in range(250)]
    elif rng.random() < 0.4:
        tags = rng.sample(CUSTOMER_TAGS, rng.randint(1, 3))
    email_state = None
    if email is not None:
        email_state = "INVALID" if not email_valid else _weighted(rng, EMAIL_STATES)
    sms_state = _weighted(rng, SMS_STATES) if phone is not None else None
    return Profile(
        first_name=first,
        last_name=last,
        email=email,
        email_valid=email_valid,
        phone=phone,
        address=address,
        tags=sort_tags(tags),
        email_state=email_state,
        sms_state=sms_state,
        state=_weighted(rng, CUSTOMER_STATES),
        locale=rng.choice(LOCALES),
        note=rng.choice(("Prefers phone contact", "Allergique aux noix", "大口顧客"))
        if rng.random() < 0.05
        else None,
        tax_exempt=rng.random() < 0.02,
        verified_email=email is not None and rng.random() < 0.9,
    )


def display_name(first: str | None, last: str | None, email: str | None, phone: str | None) -> str:
    """Shopify's fallback chain: the name, else the email, else the phone, else empty."""
    name = " ".join(part for part in (first, last) if part)
    return name or email or phone or ""


# --------------------------------------------------------------------------- generation


@dataclass
class Aggregates:
    """Per-customer facts accumulated while orders stream, indexed by customer position."""

    orders: array[int]
    all_orders: array[int]
    spent_cents: array[int]
    last_order_at: array[int]
    last_order_id: array[int]

    @classmethod
    def zeros(cls, count: int) -> Aggregates:
        return cls(
            array("q", bytes(8 * count)),
            array("q", bytes(8 * count)),
            array("q", bytes(8 * count)),
            array("q", bytes(8 * count)),
            array("q", bytes(8 * count)),
        )


ORDER_COLUMNS = (
    "id, number, name, created_at, updated_at, processed_at, closed_at, cancelled_at, "
    "customer_id, test, email, phone, financial_status, fulfillment_status, tags_lc, "
    "source_name, discount_code, total_price_cents, current_total_cents, "
    "total_items_quantity, customer_name, search_text, doc, line_items"
)
CUSTOMER_COLUMNS = (
    "id, created_at, updated_at, email, phone, phone_digits, first_name, last_name, "
    "name_key, location_key, country, country_code, state, tags_lc, orders_count, "
    "total_spent_cents, email_state, search_text, doc"
)


def _marks(columns: str) -> str:
    return ", ".join("?" for _ in columns.split(","))


def generate_into(
    connection: sqlite3.Connection,
    *,
    customers: int,
    orders: int,
    seed: int,
    now: datetime,
    shop_domain: str,
    codec: DocCodec,
    progress: Callable[[str, int], None] | None = None,
) -> None:
    """Fill the (empty) store tables; commits in chunks so memory never grows with orders."""
    now_s = int(now.timestamp())
    customer_ids = array("q")
    customer_created = array("q")
    rng = _rng(seed, 0, 0)
    start = now_s - CUSTOMER_SPAN_DAYS * DAY
    pins = _pins(customers, start, now_s - 3600, (now_s - WINDOW_DAYS * DAY,))
    next_id = CUSTOMER_ID_BASE
    for created in _pinned_times(start, now_s - 3600, customers, rng, pins):
        next_id += ID_STRIDE * (1 + (rng.random() < 0.2) * rng.randint(1, 40))
        customer_ids.append(next_id)
        customer_created.append(created)
    aggregates = Aggregates.zeros(customers)
    catalog = build_catalog(seed)
    _write_orders(
        connection,
        seed=seed,
        now_s=now_s,
        count=orders,
        shop_domain=shop_domain,
        customer_ids=customer_ids,
        customer_created=customer_created,
        aggregates=aggregates,
        catalog=catalog,
        codec=codec,
        progress=progress,
    )
    _write_customers(
        connection,
        seed=seed,
        now_s=now_s,
        customer_ids=customer_ids,
        customer_created=customer_created,
        aggregates=aggregates,
        codec=codec,
        progress=progress,
    )


def _write_customers(
    connection: sqlite3.Connection,
    *,
    seed: int,
    now_s: int,
    customer_ids: array[int],
    customer_created: array[int],
    aggregates: Aggregates,
    codec: DocCodec,
    progress: Callable[[str, int], None] | None,
) -> None:
    sql = f"INSERT INTO customers ({CUSTOMER_COLUMNS}) VALUES ({_marks(CUSTOMER_COLUMNS)})"  # noqa: S608
    count = len(customer_ids)
    batch: list[tuple[Any, ...]] = []
    for index in range(count):
        batch.append(
            customer_row(
                seed,
                index,
                count=count,
                customer_id=customer_ids[index],
                created=customer_created[index],
                now_s=now_s,
                aggregates=aggregates,
                codec=codec,
            )
        )
        if len(batch) >= CHUNK:
            connection.executemany(sql, batch)
            connection.commit()
            batch.clear()
            if progress:
                progress("customers", index + 1)
    if batch:
        connection.executemany(sql, batch)
        connection.commit()
    if progress:
        progress("customers", count)


def customer_row(
    seed: int,
    index: int,
    *,
    count: int,
    customer_id: int,
    created: int,
    now_s: int,
    aggregates: Aggregates,
    codec: DocCodec,
) -> tuple[Any, ...]:
    profile = customer_profile(seed, index, count)
    rng = _rng(seed, 4, index)
    last_order = aggregates.last_order_at[index]
    updated = max(created + rng.randint(0, 3 * DAY), last_order + rng.randint(1, 120))
    updated = min(updated, now_s - 1)
    updated = max(updated, created)
    orders = aggregates.orders[index]
    spent = aggregates.spent_cents[index]
    first, last = profile.first_name, profile.last_name
    consent_at = iso(created + rng.randint(0, DAY)) if rng.random() < 0.7 else None
    default_email = None
    email_consent = None
    if profile.email is not None and profile.email_state is not None:
        default_email = {
            "emailAddress": profile.email,
            "marketingState": email_address_state(profile.email_state),
            "marketingOptInLevel": "SINGLE_OPT_IN" if profile.email_state == "SUBSCRIBED" else None,
            "marketingUpdatedAt": consent_at,
            "validFormat": profile.email_valid,
            "openTrackingLevel": "UNKNOWN",
        }
        email_consent = {
            "marketingState": profile.email_state,
            "marketingOptInLevel": "SINGLE_OPT_IN" if profile.email_state == "SUBSCRIBED" else None,
            "consentUpdatedAt": consent_at,
        }
    sms_consent = None
    if profile.phone is not None and profile.sms_state is not None:
        sms_consent = {
            "marketingState": profile.sms_state,
            "marketingOptInLevel": "SINGLE_OPT_IN"
            if profile.sms_state == "SUBSCRIBED"
            else "UNKNOWN",
            "consentUpdatedAt": consent_at,
            "consentCollectedFrom": "SHOPIFY" if profile.sms_state != "NOT_SUBSCRIBED" else None,
        }
    last_order_id = aggregates.last_order_id[index]
    doc = {
        "__typename": "Customer",
        "id": gid("Customer", customer_id),
        "legacyResourceId": str(customer_id),
        "firstName": first,
        "lastName": last,
        "displayName": display_name(first, last, profile.email, profile.phone),
        "email": profile.email,
        "phone": profile.phone,
        "defaultEmailAddress": default_email,
        "defaultPhoneNumber": _phone_number(profile.phone, sms_consent) if profile.phone else None,
        "emailMarketingConsent": email_consent,
        "smsMarketingConsent": sms_consent,
        "defaultAddress": profile.address,
        "tags": profile.tags,
        "numberOfOrders": str(orders),
        "amountSpent": {"amount": money_text(spent), "currencyCode": SHOP_CURRENCY},
        "createdAt": iso(created),
        "updatedAt": iso(updated),
        "locale": profile.locale,
        "note": profile.note,
        "canDelete": aggregates.all_orders[index] == 0,
        "verifiedEmail": profile.verified_email,
        "validEmailAddress": profile.email_valid if profile.email else False,
        "taxExempt": profile.tax_exempt,
        "taxExemptions": [],
        "state": profile.state,
        "dataSaleOptOut": False,
        "multipassIdentifier": None,
        "_lastOrderId": last_order_id or None,
    }
    address = profile.address or {}
    country = address.get("country")
    # LOCATION sorts by [country, province, city]; customers without an address sort
    # last ("[null" orders after '["' as text).
    location: list[str | None] = [
        (address.get(part) or "").lower() if profile.address else None
        for part in ("country", "province", "city")
    ]
    search_text = " ".join(
        part for part in (first, last, profile.email, profile.phone, country) if part
    )
    return (
        customer_id,
        created,
        updated,
        profile.email,
        profile.phone,
        "".join(ch for ch in profile.phone if ch.isdigit()) if profile.phone else None,
        first,
        last,
        f"{last or ''}, {first or ''}".lower(),
        orjson.dumps(location).decode(),
        country,
        address.get("countryCodeV2"),
        profile.state,
        "\x1f".join(tag.lower() for tag in profile.tags),
        orders,
        spent,
        profile.email_state,
        search_text,
        codec.encode(doc),
    )


@dataclass(frozen=True, slots=True)
class _Money:
    shop: int
    presentment: int


def _write_orders(
    connection: sqlite3.Connection,
    *,
    seed: int,
    now_s: int,
    count: int,
    shop_domain: str,
    customer_ids: array[int],
    customer_created: array[int],
    aggregates: Aggregates,
    catalog: list[Product],
    codec: DocCodec,
    progress: Callable[[str, int], None] | None,
) -> None:
    rng = _rng(seed, 5, 0)
    start = now_s - ORDER_SPAN_DAYS * DAY
    end = now_s - 60
    boundaries = (now_s - WINDOW_DAYS * DAY, now_s - CAPPED_DAYS * DAY)
    times = _pinned_times(start, end, count, _rng(seed, 6, 0), _pins(count, start, end, boundaries))
    order_sql = f"INSERT INTO orders ({ORDER_COLUMNS}) VALUES ({_marks(ORDER_COLUMNS)})"  # noqa: S608
    item_sql = "INSERT INTO line_items (id, order_id, sku) VALUES (?, ?, ?)"
    profiles = lru_cache(maxsize=4096)(
        lambda index: customer_profile(seed, index, len(customer_ids))
    )
    eligible = 0

    def other_customer(pick: random.Random) -> Profile | None:
        return profiles(pick.randrange(eligible)) if eligible else None

    builder = _OrderBuilder(
        seed=seed,
        now_s=now_s,
        shop_domain=shop_domain,
        catalog=catalog,
        count=count,
        codec=codec,
        contacts=_Contacts(seed, other_customer),
    )
    order_rows: list[tuple[Any, ...]] = []
    item_rows: list[tuple[Any, ...]] = []
    next_order_id = ORDER_ID_BASE
    for index in range(count):
        created = next(times)
        while eligible < len(customer_ids) and customer_created[eligible] <= created:
            eligible += 1
        next_order_id += ID_STRIDE * (1 + (rng.random() < 0.1) * rng.randint(1, 8))
        customer_index = -1
        if eligible and rng.random() >= 0.07:
            if rng.random() < 0.6:
                customer_index = min(int(eligible * rng.random() ** 2.5), eligible - 1)
            else:
                customer_index = rng.randrange(eligible)
        profile = profiles(customer_index) if customer_index >= 0 else None
        customer_id = customer_ids[customer_index] if customer_index >= 0 else None
        row, items, facts = builder.build(
            index,
            order_id=next_order_id,
            created=created,
            customer_id=customer_id,
            profile=profile,
            rng=rng,
        )
        order_rows.append(row)
        item_rows.extend(items)
        if customer_index >= 0:
            aggregates.all_orders[customer_index] += 1
            if not facts.test:
                aggregates.orders[customer_index] += 1
                aggregates.spent_cents[customer_index] += facts.current_total_cents
                if created >= aggregates.last_order_at[customer_index]:
                    aggregates.last_order_at[customer_index] = created
                    aggregates.last_order_id[customer_index] = next_order_id
        if len(order_rows) >= CHUNK:
            connection.executemany(order_sql, order_rows)
            connection.executemany(item_sql, item_rows)
            connection.commit()
            order_rows.clear()
            item_rows.clear()
            if progress:
                progress("orders", index + 1)
    if order_rows:
        connection.executemany(order_sql, order_rows)
        connection.executemany(item_sql, item_rows)
        connection.commit()
    if progress:
        progress("orders", count)


GUEST_KNOWN_RATE = 0.25
"""Guest orders with contacts placed by a registered customer checking out as a guest:
the order carries that customer's email and phone but no ``customer``."""
GUEST_RETURNING_RATE = 0.15
"""Guest orders with contacts by a guest seen before: an earlier guest's email/phone."""
GUEST_TILL_RATE = 0.05
"""Guest phones from the 555-01XX pool (the shop's own or a household's number)."""
ORDER_OTHER_EMAIL_RATE = 0.03
"""Customers' orders whose email is not the customer's: another address of theirs, or
(one in three) a household member's, i.e. another customer's email."""
ORDER_SHARED_PHONE_RATE = 0.03
"""Customers' orders carrying a household phone: a 555-01XX pool number or (half) another
customer's phone."""
RECENT_GUESTS = 512
"""Guests a returning guest is drawn from (a bounded ring, so memory stays flat)."""
WORK_DOMAIN = "work.example.com"
"""Domain of customers' other addresses; no customer's own email uses it."""


class _Contacts:
    """The email and phone an order carries, where contacts are shared between people.

    Customers' own emails and phones are unique in a store, as Shopify enforces; orders
    are where real stores have shared contacts: guest checkouts by registered customers
    or by returning guests, customers checking out with another address, households
    sharing a phone. Each order's draws come from its own random stream.
    """

    def __init__(self, seed: int, others: Callable[[random.Random], Profile | None]) -> None:
        self.seed = seed
        self.others = others
        """A random customer existing at the order's time (``None`` when there is none)."""
        self.recent: list[tuple[str | None, str | None]] = []
        self.guests = 0

    def for_customer(self, index: int, profile: Profile) -> tuple[str | None, str | None]:
        rng = _rng(self.seed, 10, index)
        email, phone = profile.email, profile.phone
        if rng.random() < ORDER_OTHER_EMAIL_RATE:
            other = self.others(rng) if rng.random() < 1 / 3 else None
            if other is not None and other.email and other.email != profile.email:
                email = other.email
            elif profile.email and profile.email_valid:
                email = f"{profile.email.split('@')[0].lower()}@{WORK_DOMAIN}"
            else:
                email = f"buyer.order{index}@{WORK_DOMAIN}"
        if rng.random() < ORDER_SHARED_PHONE_RATE:
            other = self.others(rng) if rng.random() < 0.5 else None
            if other is not None and other.phone and other.phone != profile.phone:
                phone = other.phone
            else:
                phone = _pool_phone(rng)
        return email, phone

    def for_guest(self, index: int, slug: str) -> tuple[str | None, str | None]:
        """Half the guests give an email, 45% a phone, a quarter neither (as before)."""
        rng = _rng(self.seed, 11, index)
        roll = rng.random()
        wants_email, wants_phone = roll < 0.5, 0.3 < roll < 0.75
        if not (wants_email or wants_phone):
            return None, None
        kind = rng.random()
        email: str | None = f"{slug}.guest{index}@example.com"
        phone: str | None = unique_phone(self.seed, index, GUEST_AREAS)
        known = self.others(rng) if kind < GUEST_KNOWN_RATE else None
        if known is not None:
            email, phone = known.email or email, known.phone or phone
        elif kind < GUEST_KNOWN_RATE + GUEST_RETURNING_RATE and self.recent:
            email, phone = rng.choice(self.recent)
            wants_email, wants_phone = True, True
        if wants_phone and rng.random() < GUEST_TILL_RATE:
            phone = _pool_phone(rng)
        email = email if wants_email else None
        phone = phone if wants_phone else None
        if known is None:
            self._remember(email, phone)
        if email and rng.random() < 0.1:
            email = f"  {email.upper()} "
        return email, phone

    def _remember(self, email: str | None, phone: str | None) -> None:
        if len(self.recent) < RECENT_GUESTS:
            self.recent.append((email, phone))
        else:
            self.recent[self.guests % RECENT_GUESTS] = (email, phone)
        self.guests += 1


@dataclass(frozen=True, slots=True)
class _OrderFacts:
    test: bool
    current_total_cents: int


class _OrderBuilder:
    """Builds one order row plus its line-item rows from the shared random stream."""

    def __init__(
        self,
        *,
        seed: int,
        now_s: int,
        shop_domain: str,
        catalog: list[Product],
        count: int,
        codec: DocCodec,
        contacts: _Contacts | None = None,
    ) -> None:
        self.codec = codec
        self.contacts = contacts or _Contacts(seed, lambda _rng: None)
        self.seed = seed
        self.now_s = now_s
        self.shop_domain = shop_domain
        self.catalog = catalog
        self.count = count
        self.next_line_item = LINE_ITEM_ID_BASE
        self.next_shipping_line = SHIPPING_LINE_ID_BASE
        self.next_address = ADDRESS_ID_BASE + 10**11
        # Deterministic specials so even a 50-order store exercises every edge case.
        self.huge_orders = {count // 3: 260, (2 * count) // 3: 251}
        self.quantity_250 = count // 2
        self.custom_item = count // 5
        self.bags: dict[tuple[int, int, str], dict[str, Any]] = {}

    def _line_count(self, index: int, rng: random.Random) -> int:
        if index in self.huge_orders:
            return self.huge_orders[index]
        roll = rng.random()
        if roll < 0.55:
            return 1
        if roll < 0.8:
            return 2
        if roll < 0.9:
            return 3
        if roll < 0.96:
            return rng.randint(4, 6)
        if roll < 0.9995:
            return rng.randint(7, 30)
        return rng.randint(251, 300)

    def build(
        self,
        index: int,
        *,
        order_id: int,
        created: int,
        customer_id: int | None,
        profile: Profile | None,
        rng: random.Random,
    ) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], _OrderFacts]:
        now_s = self.now_s
        if rng.random() < 0.7:
            currency, rate, decimals = SHOP_CURRENCY, 1.0, 2
        else:
            currency, rate, decimals = rng.choice(CURRENCIES)

        def convert(cents: int) -> int:
            if currency == SHOP_CURRENCY:
                return cents
            value = cents * rate
            return round(value / 100) if decimals == 0 else round(value)

        bags = self.bags

        def bag(money: _Money) -> dict[str, Any]:
            key = (money.shop, money.presentment, currency)
            cached = bags.get(key)
            if cached is not None:
                return cached
            if len(bags) > 20_000:
                bags.clear()
            bags[key] = built = {
                "shopMoney": {"amount": money_text(money.shop), "currencyCode": SHOP_CURRENCY},
                "presentmentMoney": {
                    "amount": money_text(money.presentment, decimals),
                    "currencyCode": currency,
                },
            }
            return built

        line_total = _Money(0, 0)
        quantity_total = 0
        items: list[tuple[Any, ...]] = []
        item_docs: list[dict[str, Any]] = []
        for position in range(self._line_count(index, rng)):
            self.next_line_item += ID_STRIDE
            item_id = self.next_line_item
            custom = (index == self.custom_item and position == 0) or rng.random() < 0.04
            quantity = rng.choice((1, 1, 1, 2, 2, 3, 5))
            if index == self.quantity_250 and position == 0:
                quantity = 250
            elif rng.random() < 0.005:
                quantity = rng.randint(101, 300)
            if custom:
                title = rng.choice(CUSTOM_ITEMS)
                unit_cents = rng.choice((0, 500, 1500))
                product_ref = variant_ref = None
                sku: str | None = None if rng.random() < 0.7 else f"CUSTOM-{position}"
                variant_title = None
                vendor = None
            else:
                product = self.catalog[
                    min(int(rng.random() ** 2 * len(self.catalog)), len(self.catalog) - 1)
                ]
                variant = rng.choice(product.variants)
                title = product.title
                unit_cents = variant.price_cents
                product_ref = {
                    "__typename": "Product",
                    "id": gid("Product", product.id),
                    "title": product.title,
                    "vendor": product.vendor,
                }
                variant_ref = {
                    "__typename": "ProductVariant",
                    "id": gid("ProductVariant", variant.id),
                    "title": variant.title,
                    "sku": variant.sku,
                }
                sku = variant.sku
                variant_title = None if variant.title == "Default Title" else variant.title
                vendor = product.vendor
            unit = _Money(unit_cents, convert(unit_cents))
            line = _Money(unit.shop * quantity, unit.presentment * quantity)
            line_total = _Money(
                line_total.shop + line.shop, line_total.presentment + line.presentment
            )
            quantity_total += quantity
            attributes: list[dict[str, Any]] = []
            if rng.random() < 0.1:
                attributes = [
                    {
                        "key": "gift_message",
                        "value": rng.choice(("Joyeux anniversaire 🎂", "お誕生日おめでとう", None)),
                    }
                ]
            name = f"{title} - {variant_title}" if variant_title else title
            item_doc = {
                "__typename": "LineItem",
                "id": gid("LineItem", item_id),
                "name": name,
                "title": title,
                "quantity": quantity,
                "unfulfilledQuantity": 0,
                "nonFulfillableQuantity": 0,
                "sku": sku,
                "variantTitle": variant_title,
                "vendor": vendor,
                "product": product_ref,
                "variant": variant_ref,
                "customAttributes": attributes,
                "isGiftCard": False,
                "requiresShipping": not custom,
                "taxable": True,
                "merchantEditable": False,
                "restockable": not custom,
                "originalUnitPriceSet": bag(unit),
                "originalTotalSet": bag(line),
                "totalDiscountSet": bag(_Money(0, 0)),
                "discountAllocations": [],
                "taxLines": [],
                "duties": [],
            }
            items.append((item_id, order_id, sku.lower() if sku else None))
            item_docs.append(item_doc)

        codes: list[str] = []
        if rng.random() < 0.15:
            codes = [rng.choice(DISCOUNT_CODES)]
            if rng.random() < 0.1:
                codes.append("STACKED5")
        discount = (
            _Money(line_total.shop // 10, line_total.presentment // 10) if codes else _Money(0, 0)
        )
        shipping_lines: list[dict[str, Any]] = []
        shipping_total = _Money(0, 0)
        roll = rng.random()
        for _ in range(0 if roll < 0.15 else (2 if roll > 0.95 else 1)):
            self.next_shipping_line += ID_STRIDE
            cents = rng.choice((0, 599, 1299))
            price = _Money(cents, convert(cents))
            shipping_total = _Money(
                shipping_total.shop + price.shop, shipping_total.presentment + price.presentment
            )
            title = rng.choice(("Standard", "Express", "Livraison gratuite", "Économique"))
            shipping_lines.append(
                {
                    "__typename": "ShippingLine",
                    "id": gid("ShippingLine", self.next_shipping_line),
                    "title": title,
                    "code": title,
                    "source": "shopify",
                    "carrierIdentifier": None,
                    "deliveryCategory": None,
                    "custom": False,
                    "isRemoved": False,
                    "phone": None,
                    "shippingRateHandle": None,
                    "originalPriceSet": bag(price),
                    "discountAllocations": [],
                    "taxLines": [],
                }
            )
        taxable = _Money(
            line_total.shop - discount.shop, line_total.presentment - discount.presentment
        )
        tax = _Money(taxable.shop * 8 // 100, taxable.presentment * 8 // 100)
        subtotal = taxable
        total = _Money(
            subtotal.shop + shipping_total.shop + tax.shop,
            subtotal.presentment + shipping_total.presentment + tax.presentment,
        )

        test = rng.random() < 0.02
        cancelled_at = closed_at = None
        cancel_reason = None
        age = now_s - created
        if rng.random() < 0.03:
            cancelled_at = min(created + rng.randint(600, 3 * DAY), now_s - 1)
            cancel_reason = rng.choice(
                ("CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "STAFF", "OTHER")
            )
            financial = rng.choice(("REFUNDED", "VOIDED"))
            fulfillment = "UNFULFILLED"
            closed_at = cancelled_at
        else:
            financial = _weighted(rng, FINANCIAL)
            if age > 3 * DAY:
                fulfillment = _weighted(
                    rng,
                    (
                        ("FULFILLED", 75),
                        ("UNFULFILLED", 15),
                        ("PARTIALLY_FULFILLED", 5),
                        ("ON_HOLD", 2),
                        ("SCHEDULED", 1),
                        ("REQUEST_DECLINED", 2),
                    ),
                )
            else:
                fulfillment = "UNFULFILLED"
            if fulfillment == "FULFILLED" and financial == "PAID" and rng.random() < 0.7:
                closed_at = min(created + rng.randint(DAY, 3 * DAY), now_s - 1)
        if financial in {"REFUNDED", "VOIDED"}:
            refunded = total if financial == "REFUNDED" else _Money(0, 0)
            current = _Money(0, 0)
        elif financial == "PARTIALLY_REFUNDED":
            refunded = _Money(total.shop // 5, total.presentment // 5)
            current = _Money(total.shop - refunded.shop, total.presentment - refunded.presentment)
        else:
            refunded = _Money(0, 0)
            current = total
        updated = max(created + rng.randint(1, 5), cancelled_at or 0, closed_at or 0)
        if rng.random() < 0.1:
            updated = max(updated, min(created + rng.randint(DAY, 20 * DAY), now_s - 1))
        updated = max(min(updated, now_s - 1), created)
        processed = created if rng.random() >= 0.03 else created - rng.randint(DAY, 30 * DAY)

        email: str | None
        phone: str | None
        if profile is not None:
            email, phone = self.contacts.for_customer(index, profile)
            first, last = profile.first_name, profile.last_name
            shipping_address = dict(profile.address) if profile.address else None
        else:
            guest_first, guest_last = _names(self.seed, 1_000_000_000 + index)
            first = guest_first[0] if guest_first else None
            last = guest_last[0] if guest_last else None
            email, phone = self.contacts.for_guest(
                index, guest_first[1] if guest_first else "guest"
            )
            self.next_address += ID_STRIDE
            shipping_address = (
                _address(rng, self.next_address, first, last, "Address")
                if rng.random() < 0.8
                else None
            )
        if shipping_address is not None:
            shipping_address["id"] = shipping_address["id"].replace("CustomerAddress", "Address")
        billing_address = shipping_address if rng.random() < 0.85 else None
        tags = sort_tags(rng.sample(ORDER_TAGS, rng.randint(1, 3))) if rng.random() < 0.2 else []
        number = 1001 + index
        name = f"#{number}"
        source_name = rng.choice(SOURCE_NAMES)
        token = hashlib.blake2b(order_id.to_bytes(8, "big"), digest_size=16).hexdigest()
        status_url = (
            f"https://{self.shop_domain}/{(self.seed % 90_000_000) + 10_000_000}/orders/"
            f"{token}/authenticate?key={token[::-1]}"
        )
        customer_name = " ".join(part for part in (first, last) if part) if profile else ""
        doc: dict[str, Any] = {
            "__typename": "Order",
            "id": gid("Order", order_id),
            "legacyResourceId": str(order_id),
            "name": name,
            "number": number,
            "createdAt": iso(created),
            "updatedAt": iso(updated),
            "processedAt": iso(processed),
            "closed": closed_at is not None,
            "closedAt": iso(closed_at) if closed_at else None,
            "cancelledAt": iso(cancelled_at) if cancelled_at else None,
            "cancelReason": cancel_reason,
            "confirmed": financial != "PENDING" or rng.random() < 0.9,
            "test": test,
            "email": email,
            "phone": phone,
            "currencyCode": SHOP_CURRENCY,
            "presentmentCurrencyCode": currency,
            "displayFinancialStatus": financial,
            "displayFulfillmentStatus": fulfillment,
            "fullyPaid": financial in {"PAID", "PARTIALLY_REFUNDED", "REFUNDED"},
            "unpaid": financial in {"PENDING", "AUTHORIZED", "EXPIRED"},
            "totalPriceSet": bag(total),
            "subtotalPriceSet": bag(subtotal),
            "totalDiscountsSet": bag(discount),
            "totalShippingPriceSet": bag(shipping_total),
            "totalTaxSet": bag(tax),
            "totalRefundedSet": bag(refunded),
            "currentTotalPriceSet": bag(current),
            "currentSubtotalPriceSet": bag(subtotal if current.shop else _Money(0, 0)),
            "currentTotalTaxSet": bag(tax if current.shop else _Money(0, 0)),
            "subtotalLineItemsQuantity": quantity_total,
            "currentSubtotalLineItemsQuantity": 0 if cancelled_at else quantity_total,
            "taxesIncluded": False,
            "taxExempt": False,
            "tags": tags,
            "discountCodes": codes,
            "discountCode": codes[0] if codes else None,
            "sourceName": source_name,
            "sourceIdentifier": None,
            "statusPageUrl": status_url,
            "note": "Leave at the door 🚪" if rng.random() < 0.03 else None,
            "customerLocale": profile.locale if profile else "en",
            "customerAcceptsMarketing": bool(profile and profile.email_state == "SUBSCRIBED"),
            "paymentGatewayNames": ["shopify_payments"] if source_name != "pos" else ["cash"],
            "poNumber": None,
            "shippingAddress": shipping_address,
            "billingAddress": None if billing_address is shipping_address else billing_address,
            "_billingIsShipping": billing_address is shipping_address
            and billing_address is not None,
            "billingAddressMatchesShippingAddress": billing_address is shipping_address,
            "requiresShipping": bool(shipping_lines),
            "edited": False,
            "customAttributes": [],
            "_customerId": customer_id,
            "_shippingLines": shipping_lines,
        }
        search_text = " ".join(
            part
            for part in (name, str(number), email, phone, customer_name, " ".join(tags))
            if part
        )
        row = (
            order_id,
            number,
            name,
            created,
            updated,
            processed,
            closed_at,
            cancelled_at,
            customer_id,
            int(test),
            email.strip().lower() if email else None,
            phone,
            financial,
            fulfillment,
            "\x1f".join(tag.lower() for tag in tags),
            source_name,
            codes[0].lower() if codes else None,
            total.shop,
            current.shop,
            quantity_total,
            customer_name.lower(),
            search_text,
            self.codec.encode(doc),
            self.codec.encode({"items": item_docs}),
        )
        return row, items, _OrderFacts(test, current.shop)


class _RawCodec(DocCodec):
    """Keeps documents as plain JSON (used only to build the preset dictionary)."""

    def __init__(self) -> None:
        super().__init__(b"")

    def encode(self, doc: dict[str, Any]) -> bytes:
        return orjson.dumps(doc)


def preset_dictionary(shop_domain: str, now_s: int) -> bytes:
    """Sample documents (seed 0) whose bytes prime the deflate dictionary.

    Deflate favours the dictionary's tail, so the most frequent kind (line items, then
    orders) comes last. The result is stored in the store's meta table, so a store keeps
    decoding even if this sample changes in a later version.
    """
    raw = _RawCodec()
    catalog = build_catalog(0, size=8)
    builder = _OrderBuilder(
        seed=0, now_s=now_s, shop_domain=shop_domain, catalog=catalog, count=10, codec=raw
    )
    rng = _rng(0, 9, 0)
    profile = customer_profile(0, 1, 10)
    customer = customer_row(
        0,
        1,
        count=10,
        customer_id=CUSTOMER_ID_BASE,
        created=now_s - DAY,
        now_s=now_s,
        aggregates=Aggregates.zeros(10),
        codec=raw,
    )[-1]
    order_row, _, _ = builder.build(
        1,
        order_id=ORDER_ID_BASE,
        created=now_s - DAY,
        customer_id=CUSTOMER_ID_BASE,
        profile=profile,
        rng=rng,
    )
    guest_row, _, _ = builder.build(
        2,
        order_id=ORDER_ID_BASE + ID_STRIDE,
        created=now_s - DAY,
        customer_id=None,
        profile=None,
        rng=rng,
    )
    parts = [customer, guest_row[-2], order_row[-2], order_row[-1][:4000]]
    return b"".join(parts)[-32_768:]
