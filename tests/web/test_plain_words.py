"""Plain language on every page a merchant sees: scopes in words, no internal step names,
no shell commands, no raw alias labels, formatted numbers."""

from __future__ import annotations

import re

from shopify_backfill.web.labels import plain, scope_words

from .conftest import Web
from .test_pages import START, completed_backfill, text_of

CLI_HINT = re.compile(
    r"shopify-backfill (?:connect|backfill|audit|campaigns|destinations|worker|users|serve)\b"
)
ALIAS_LABELS = ("shopify_customer_id", "shopify_email", "shopify_phone")


def visible(page: str) -> str:
    """The page's words as a reader gets them: no <script>, <title> of the tab kept."""
    return text_of(re.sub(r"<script\b.*?</script>", " ", page, flags=re.S))


def assert_plain(page: str, where: str) -> None:
    words = visible(page)
    assert "preflight" not in words.lower(), where
    assert not CLI_HINT.search(words), (where, words)
    assert "--shop" not in words, where
    for label in ALIAS_LABELS:
        assert label not in words, (where, label)


def test_messages_from_the_engine_read_plainly() -> None:
    assert plain("alias shopify_email='…' already belongs to another profile; not added") == (
        "the same email is already on another customer's profile; kept there"
    )
    assert "phone number" in plain("alias shopify_phone='…' already belongs to another profile")
    hinted = plain(
        "Shopify refused the token; to reconnect, run `shopify-backfill connect --shop "
        "a.myshopify.com --token ...`"
    )
    assert hinted == "Shopify refused the token." and not CLI_HINT.search(hinted)
    assert plain("stopped during preflight checks") == "stopped during the access check"
    assert scope_words("read_all_orders") == "read all orders, not only the last 60 days"


def test_pages_use_plain_words(web: Web) -> None:
    legacy = web.connect(web.bob, token=web.shop.legacy_token())
    stores = web.bob.get("/stores").text
    assert_plain(stores, "stores with a legacy grant")
    words = visible(stores)
    assert "read all orders, not only the last 60 days" in words
    assert "Read customers" in words and "Read orders" in words
    assert_plain(web.bob.get(f"/stores/{legacy['id']}/wizard?backfill=on").text, "bob wizard")

    store_id, backfill_id = completed_backfill(web)
    wizard = web.alice.get(f"/stores/{store_id}/wizard?backfill=on").text
    report = web.alice.get(f"/backfills/{backfill_id}").text
    for where, page in (
        ("stores", web.alice.get("/stores").text),
        ("store", web.alice.get(f"/stores/{store_id}").text),
        ("wizard after completion", wizard),
        ("report", report),
        ("not found", web.alice.get("/backfills/999999").text),
        ("notifications", web.alice.get("/notifications").text),
    ):
        assert_plain(page, where)
    assert re.search(r"\(\d[\d,]* attempts?,", visible(report))


def test_a_failure_reads_without_shell_commands(web: Web) -> None:
    store = web.connect(web.alice)
    web.shop.transport.refuse_orders = True
    started = web.alice.post(f"/api/v1/stores/{store['id']}/backfill", json=START)
    assert started.status_code == 202
    backfill_id = started.json()["backfill_id"]
    web.wait()
    web.shop.transport.refuse_orders = False
    reason = web.alice.get(f"/api/v1/backfills/{backfill_id}").json()["failure_reason"]
    assert CLI_HINT.search(reason)  # the CLI's reason keeps its command ...
    page = web.alice.get(f"/backfills/{backfill_id}").text
    failure = re.search(r"data-failure>(.*?)</div>", page, re.S)
    assert failure and failure.group(1).strip()  # ... the page keeps the reason, not the command
    for where, text in (("backfill", page), ("stores", web.alice.get("/stores").text)):
        assert_plain(text, where)
