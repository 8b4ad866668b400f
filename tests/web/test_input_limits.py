"""Every text input of the page's forms and JSON API is bounded, and a refusal says what was
wrong and what to do while quoting at most a short, escaped excerpt of what was sent.

A form puts the user's own input back into its field (escaped, cut to the field's limit)
so it can be corrected; a token or a password is never sent back.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from .conftest import PASSWORD, Web, login

LONG_SHOP = "a" * 4980 + ".myshopify.com"  # 4,994 characters: "valid" but for its length
RUN = "a" * 33  # more of the value than a message may quote (an excerpt has 32 characters)


def field_value(page: str, field_id: str) -> str:
    match = re.search(rf'id="{field_id}"[^>]*?value="([^"]*)"', page, flags=re.DOTALL)
    assert match, f"{field_id} has a value attribute"
    return match.group(1)


def test_the_store_domain_is_the_dns_limit(web: Web) -> None:
    """255 characters is the longest domain name DNS allows (RFC 1035 §2.3.4)."""
    for url, body in (
        ("/api/v1/stores", {"shop": LONG_SHOP, "token": "shpat_x"}),
        ("/api/v1/stores/oauth", {"shop": LONG_SHOP}),
    ):
        response = web.alice.post(url, json=body)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["field"] == "shop"
        assert "4,994 characters" in error["message"] and "at most 255" in error["message"]
        assert "my-store.myshopify.com" in error["message"]  # what to enter instead
        assert RUN not in response.text and len(response.text) < 1000
    assert web.alice.get("/api/v1/stores").json() == {"stores": []}


@pytest.mark.parametrize(
    ("form", "prefix"), [("/stores/oauth", "oauth"), ("/stores/token", "token")]
)
def test_a_long_domain_on_the_form_is_refused_and_given_back_cut(
    web: Web, form: str, prefix: str
) -> None:
    page = web.alice.form(form, {"shop": LONG_SHOP, "token": "shpat_x"})
    assert page.status_code == 422
    error = re.search(rf'id="{prefix}-shop-error"[^>]*>([^<]*)<', page.text)
    assert error and "at most 255" in error.group(1) and RUN not in error.group(1)
    assert field_value(page.text, f"{prefix}-shop") == LONG_SHOP[:255]
    assert f'id="{prefix}-shop" name="shop" maxlength="255"' in page.text
    assert "a" * 256 not in page.text


def test_a_rejected_domain_comes_back_escaped(web: Web) -> None:
    typed = '"><script>alert(1)</script>.myshopify.com'
    page = web.alice.form("/stores/oauth", {"shop": typed})
    assert page.status_code == 422
    assert "<script>alert(1)" not in page.text
    assert field_value(page.text, "oauth-shop") == (
        "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;.myshopify.com"
    )
    assert "is not a store domain" in page.text


def test_a_long_token_is_refused_without_being_shown(web: Web) -> None:
    token = "shpat_" + "z" * 500
    api = web.alice.post("/api/v1/stores", json={"shop": web.shop.domain, "token": token})
    assert api.status_code == 422 and api.json()["error"]["field"] == "token"
    message = api.json()["error"]["message"]
    assert "506 characters" in message and "at most 256" in message and "shpat_" in message
    assert "zzzz" not in api.text
    page = web.alice.form("/stores/token", {"shop": web.shop.domain, "token": token})
    assert page.status_code == 422 and 'id="token-token-error"' in page.text
    assert "shpat_" in page.text  # the hint names what to paste ...
    assert "zzzz" not in page.text  # ... but none of what was pasted comes back
    assert field_value(page.text, "token-shop") == web.shop.domain


def test_the_login_form_bounds_email_and_password(web: Web) -> None:
    client = web.anonymous()
    long_email = "x" * 5000 + "@acme.example"
    refused = login(client, long_email)
    assert refused.status_code == 422
    error = re.search(r'id="login-error">([^<]*)<', refused.text)
    assert error and "at most 320" in error.group(1) and "x" * 33 not in error.group(1)
    assert field_value(refused.text, "email") == long_email[:320]
    long_password = "p" * 5000
    again = login(client, web.alice.email, long_password)
    assert again.status_code == 422 and "at most 1,024" in again.text
    assert "pppp" not in again.text
    assert login(client, web.alice.email, PASSWORD).status_code == 303  # not locked out


def test_an_api_key_name_is_bounded_on_the_form_and_the_api(web: Web) -> None:
    name = "Reporting " + "n" * 500
    api = web.alice.post("/api/v1/api-keys", json={"name": name})
    assert api.status_code == 422 and api.json()["error"]["field"] == "name"
    message = api.json()["error"]["message"]
    assert "510 characters" in message and "at most 100" in message and "n" * 40 not in message
    page = web.alice.form("/settings/api-keys", {"name": name})
    assert page.status_code == 422 and "at most 100" in page.text
    assert field_value(page.text, "key-name") == name[:100]
    assert web.alice.get("/api/v1/api-keys").json() == {"api_keys": []}


def test_an_oversized_oauth_callback_is_refused_without_quoting_it(web: Web) -> None:
    params = {"code": "c", "hmac": "0" * 64, "shop": LONG_SHOP, "state": "s", "timestamp": "1"}
    page = web.alice.get(f"/shopify/callback?{urlencode(params)}")
    assert page.status_code == 400 and "at most 255" in page.text
    assert RUN not in page.text
    params = {**params, "shop": web.shop.domain, "code": "c" * 5000}
    page = web.alice.get(f"/shopify/callback?{urlencode(params)}")
    assert page.status_code == 400 and "5,000 characters" in page.text
    assert "c" * 100 not in page.text


def test_marking_read_takes_a_bounded_list(web: Web) -> None:
    response = web.alice.post("/api/v1/notifications/read", json={"ids": list(range(1001))})
    assert response.status_code == 422 and response.json()["error"]["field"] == "ids"
    assert web.alice.post("/api/v1/notifications/read", json={"ids": [1]}).status_code == 200
