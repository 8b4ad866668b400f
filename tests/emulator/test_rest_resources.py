"""REST resources a client calls first: the shop, one customer, counts, addresses, 404s.

Each test cites the REST Admin API page whose behaviour it encodes.
"""

from __future__ import annotations

import re
from typing import Any

from emulator_fixtures import EmulatorHandle

pytest_plugins = ["emulator_fixtures"]

SHOP_FIELDS = {
    "address1", "address2", "auto_configure_tax_inclusivity", "checkout_api_supported", "city",
    "country", "country_code", "country_name", "county_taxes", "created_at", "customer_email",
    "currency", "domain", "enabled_presentment_currencies", "eligible_for_payments", "email",
    "finances", "google_apps_domain", "google_apps_login_enabled", "has_discounts",
    "has_gift_cards", "has_storefront", "iana_timezone", "id", "latitude", "longitude",
    "marketing_sms_consent_enabled_at_checkout", "money_format", "money_in_emails_format",
    "money_with_currency_format", "money_with_currency_in_emails_format",
    "multi_location_enabled", "myshopify_domain", "name", "password_enabled", "phone",
    "plan_display_name", "pre_launch_enabled", "cookie_consent_level", "plan_name",
    "primary_locale", "primary_location_id", "province", "province_code",
    "requires_extra_payments_agreement", "setup_required", "shop_owner", "source",
    "tax_shipping", "taxes_included", "timezone", "transactional_sms_disabled", "updated_at",
    "weight_unit", "zip",
}  # fmt: skip
"""Every property of https://shopify.dev/docs/api/admin-rest/2026-07/resources/shop."""
CUSTOMER_ADDRESS_FIELDS = {
    "id", "customer_id", "first_name", "last_name", "company", "address1", "address2", "city",
    "province", "country", "zip", "phone", "name", "province_code", "country_code",
    "country_name", "default",
}  # fmt: skip
"""https://shopify.dev/docs/api/admin-rest/2026-07/resources/customer-address"""


def get(handle: EmulatorHandle, path: str, token: str | None = None) -> Any:
    with handle.client(token) as client:
        return client.get(f"/admin/api/{handle.api_version}/{path}")


def test_shop_json_answers_every_documented_field(emulator: EmulatorHandle) -> None:
    """``GET shop.json`` returns the Shop resource with all its properties; any token may
    read it (https://shopify.dev/docs/api/admin-rest/2026-07/resources/shop)."""
    response = get(emulator, "shop.json")
    assert response.status_code == 200
    shop = response.json()["shop"]
    assert set(shop) == SHOP_FIELDS
    document = emulator.store.shop_document()
    assert shop["myshopify_domain"] == emulator.shop_domain == shop["domain"]
    assert shop["name"] == document["name"]
    assert shop["currency"] == document["currencyCode"]
    assert shop["iana_timezone"] == emulator.store.timezone
    assert re.match(r"^\(GMT[+-]\d\d:\d\d\) ", shop["timezone"])
    assert shop["plan_display_name"] == document["plan"]["publicDisplayName"]
    assert isinstance(shop["id"], int)
    assert f"gid://shopify/Shop/{shop['id']}" == document["id"]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", shop["created_at"])
    limited = emulator.mint_token(["read_products"])
    assert get(emulator, "shop.json", limited).status_code == 200
    only = get(emulator, "shop.json?fields=id,name").json()["shop"]
    assert set(only) == {"id", "name"}
    assert get(emulator, "shop.json", "shpat_unknown").status_code == 401


def test_single_customer_matches_the_list_and_404s(emulator: EmulatorHandle) -> None:
    """``GET customers/{id}.json`` returns the same customer as the list; an unknown id is
    404 ``{"errors": "Not Found"}``
    (https://shopify.dev/docs/api/admin-rest/2026-07/resources/customer#get-customers-customer-id)."""
    listed = get(emulator, "customers.json?limit=5").json()["customers"]
    for customer in listed:
        one = get(emulator, f"customers/{customer['id']}.json")
        assert one.status_code == 200
        assert one.json()["customer"] == customer
    missing = get(emulator, "customers/1.json")
    assert missing.status_code == 404
    assert missing.json() == {"errors": "Not Found"}
    assert missing.headers["content-type"].startswith("application/json")
    assert get(emulator, "customers/abc.json").status_code == 404
    fields = get(emulator, f"customers/{listed[0]['id']}.json?fields=id,email").json()
    assert fields == {"customer": {"id": listed[0]["id"], "email": listed[0]["email"]}}


def test_customers_carry_addresses_and_default_address(emulator: EmulatorHandle) -> None:
    """A customer has ``addresses`` and ``default_address`` (the one marked ``default``);
    ``customers/{id}/addresses.json`` lists the same addresses
    (https://shopify.dev/docs/api/admin-rest/2026-07/resources/customer,
    https://shopify.dev/docs/api/admin-rest/2026-07/resources/customer-address)."""
    customers = get(emulator, "customers.json?limit=250").json()["customers"]
    with_address = [c for c in customers if c["default_address"]]
    without = [c for c in customers if not c["default_address"]]
    assert with_address and without
    for customer in with_address:
        default = customer["default_address"]
        assert set(default) == CUSTOMER_ADDRESS_FIELDS
        assert default["customer_id"] == customer["id"] and default["default"] is True
        assert default in customer["addresses"]
        listed = get(emulator, f"customers/{customer['id']}/addresses.json")
        assert listed.status_code == 200
        assert listed.json()["addresses"] == customer["addresses"]
    for customer in without:
        assert customer["addresses"] == []
    assert get(emulator, "customers/1/addresses.json").status_code == 404


def test_counts_honour_the_list_filters(emulator: EmulatorHandle) -> None:
    """``count.json`` takes the list's filters and counts exactly what the list returns
    (https://shopify.dev/docs/api/admin-rest/2026-07/resources/customer#get-customers-count,
    https://shopify.dev/docs/api/admin-rest/2026-07/resources/order#get-orders-count)."""
    customers = get(emulator, "customers.json?limit=250").json()["customers"]
    assert get(emulator, "customers/count.json").json() == {"count": len(customers)}
    middle = sorted(c["updated_at"] for c in customers)[len(customers) // 2]
    newer = [c for c in customers if c["updated_at"] >= middle]
    counted = get(emulator, f"customers/count.json?updated_at_min={middle}").json()
    assert counted == {"count": len(newer)}
    orders = get(emulator, "orders.json?status=any&limit=250").json()["orders"]
    assert get(emulator, "orders/count.json?status=any").json()["count"] == len(orders)
    open_orders = get(emulator, "orders.json?limit=250").json()["orders"]
    assert get(emulator, "orders/count.json").json()["count"] == len(open_orders)
    for financial in ("paid", "pending", "refunded", "partially_refunded", "unpaid"):
        listed = get(
            emulator, f"orders.json?status=any&limit=250&financial_status={financial}"
        ).json()["orders"]
        count = get(emulator, f"orders/count.json?status=any&financial_status={financial}")
        assert count.json()["count"] == len(listed)
        if financial != "unpaid":
            assert {o["financial_status"] for o in listed} <= {financial}
    for fulfillment, allowed in (
        ("shipped", {"fulfilled"}),
        ("partial", {"partial"}),
        ("unshipped", {None}),
        ("unfulfilled", {None, "partial"}),
    ):
        listed = get(
            emulator, f"orders.json?status=any&limit=250&fulfillment_status={fulfillment}"
        ).json()["orders"]
        assert {o["fulfillment_status"] for o in listed} <= allowed
        count = get(emulator, f"orders/count.json?status=any&fulfillment_status={fulfillment}")
        assert count.json()["count"] == len(listed)
    assert get(emulator, "orders/count.json?status=nope").status_code == 400
    limited = emulator.mint_token(["read_customers"])
    assert get(emulator, "orders/count.json", limited).status_code == 403


def test_unknown_admin_routes_answer_json_not_found(emulator: EmulatorHandle) -> None:
    """Shopify answers an unknown REST route with 404 ``{"errors":"Not Found"}`` as JSON
    (https://shopify.dev/docs/api/usage/response-codes)."""
    for path in (
        f"/admin/api/{emulator.api_version}/products/unknown.json",
        f"/admin/api/{emulator.api_version}/nothing-here.json",
        "/admin/oauth/nothing",
    ):
        with emulator.client() as client:
            response = client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/json")
        assert response.json() == {"errors": "Not Found"}
