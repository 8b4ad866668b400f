"""Every GraphQL text the product sends to Shopify, and nothing else.

One source of truth per query: the selection sets below decide which fields exist in
``records.py``, and a test validates every text (including each built variant) against
the real 2026-07 schema. Bulk queries may not use ``first``/``after`` and nest at most two
connections deep, so the order selection is shared but the connection wrappers differ.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

MONEY_BAG = "shopMoney { amount currencyCode } presentmentMoney { amount currencyCode }"

ADDRESS_FIELDS = (
    "address1 address2 city country countryCodeV2 firstName lastName province provinceCode "
    "zip phone"
)

CUSTOMER_FIELDS = f"""
  id
  legacyResourceId
  createdAt
  updatedAt
  firstName
  lastName
  defaultEmailAddress {{ emailAddress marketingState }}
  defaultPhoneNumber {{ phoneNumber }}
  smsMarketingConsent {{ marketingState }}
  defaultAddress {{ {ADDRESS_FIELDS} }}
  tags
  numberOfOrders
  amountSpent {{ amount currencyCode }}
"""

ORDER_FIELDS = f"""
  id
  legacyResourceId
  name
  number
  createdAt
  updatedAt
  confirmed
  cancelledAt
  test
  email
  phone
  currencyCode
  totalPriceSet {{ {MONEY_BAG} }}
  totalDiscountsSet {{ {MONEY_BAG} }}
  tags
  discountCodes
  sourceName
  statusPageUrl
  customer {{ {CUSTOMER_FIELDS} }}
  shippingAddress {{ {ADDRESS_FIELDS} }}
  billingAddress {{ {ADDRESS_FIELDS} }}
"""

LINE_ITEM_FIELDS = f"""
  id
  name
  title
  quantity
  sku
  variantTitle
  vendor
  product {{ id }}
  variant {{ id }}
  originalUnitPriceSet {{ {MONEY_BAG} }}
  customAttributes {{ key value }}
"""

SHIPPING_LINE_FIELDS = f"title originalPriceSet {{ {MONEY_BAG} }}"

PAGE_INFO = "pageInfo { hasNextPage endCursor }"


def shopify_time(moment: datetime) -> str:
    """UTC timestamp as Shopify's search syntax expects it, quoted."""
    return "'" + moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") + "'"


def window_filter(start: datetime, end: datetime, field: str = "created_at") -> str:
    """Search filter for creation time in ``[start, end)`` (SPEC §2 window).

    The field name differs per connection and is checked against the schema's own list:
    ``orders``, ``ordersCount`` and ``customersCount`` call it ``created_at``, while the
    ``customers`` connection only knows ``customer_date`` (``created_at`` there draws an
    ``invalid_field`` warning and Shopify returns every customer).
    """
    return f"{field}:>={shopify_time(start)} AND {field}:<{shopify_time(end)}"


def customer_window_filter(start: datetime, end: datetime) -> str:
    """The window as the ``customers`` connection spells it."""
    return window_filter(start, end, "customer_date")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


SHOP_QUERY = """
query ShopIdentity {
  shop { id name myshopifyDomain currencyCode ianaTimezone plan { partnerDevelopment shopifyPlus } }
}
"""

ACCESS_PROBE_QUERY = f"""
query CustomerAccessProbe {{
  customers(first: 1) {{ nodes {{ {CUSTOMER_FIELDS} }} }}
}}
"""

COUNTS_QUERY = """
query WindowCounts($query: String!) {
  customersCount(query: $query, limit: null) { count precision }
  ordersCount(query: $query, limit: null) { count precision }
}
"""

CUSTOMERS_PAGE_QUERY = f"""
query CustomersPage($first: Int!, $after: String, $query: String!) {{
  customers(first: $first, after: $after, query: $query, sortKey: ID) {{
    nodes {{ {CUSTOMER_FIELDS} }}
    {PAGE_INFO}
  }}
}}
"""

ORDERS_PAGE_QUERY = f"""
query OrdersPage($first: Int!, $after: String, $query: String!, $lineItemsFirst: Int!,
                 $shippingFirst: Int!) {{
  orders(first: $first, after: $after, query: $query, sortKey: ID) {{
    nodes {{
      {ORDER_FIELDS}
      lineItems(first: $lineItemsFirst) {{ nodes {{ {LINE_ITEM_FIELDS} }} {PAGE_INFO} }}
      shippingLines(first: $shippingFirst) {{ nodes {{ {SHIPPING_LINE_FIELDS} }} {PAGE_INFO} }}
    }}
    {PAGE_INFO}
  }}
}}
"""

ORDER_LINE_ITEMS_QUERY = f"""
query OrderLineItems($id: ID!, $first: Int!, $after: String) {{
  order(id: $id) {{
    lineItems(first: $first, after: $after) {{ nodes {{ {LINE_ITEM_FIELDS} }} {PAGE_INFO} }}
  }}
}}
"""

ORDER_SHIPPING_LINES_QUERY = f"""
query OrderShippingLines($id: ID!, $first: Int!, $after: String) {{
  order(id: $id) {{
    shippingLines(first: $first, after: $after) {{ nodes {{ {SHIPPING_LINE_FIELDS} }} {PAGE_INFO} }}
  }}
}}
"""

BULK_RUN_MUTATION = """
mutation BulkRun($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: false) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}
"""

BULK_OPERATION_FIELDS = (
    "id status type errorCode createdAt completedAt objectCount rootObjectCount fileSize "
    "url partialDataUrl query"
)

BULK_POLL_QUERY = f"""
query BulkPoll($id: ID!) {{
  bulkOperation(id: $id) {{ {BULK_OPERATION_FIELDS} }}
}}
"""

BULK_CANCEL_MUTATION = f"""
mutation BulkCancel($id: ID!) {{
  bulkOperationCancel(id: $id) {{
    bulkOperation {{ {BULK_OPERATION_FIELDS} }}
    userErrors {{ field message }}
  }}
}}
"""

WEBHOOK_SUBSCRIPTION_FIELDS = "id topic uri"

WEBHOOK_SUBSCRIPTIONS_QUERY = f"""
query WebhookSubscriptions($after: String) {{
  webhookSubscriptions(first: 100, after: $after) {{
    nodes {{ {WEBHOOK_SUBSCRIPTION_FIELDS} }}
    {PAGE_INFO}
  }}
}}
"""

WEBHOOK_SUBSCRIPTION_CREATE_MUTATION = f"""
mutation WebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $uri: String!) {{
  webhookSubscriptionCreate(
    topic: $topic, webhookSubscription: {{ uri: $uri, format: JSON }}
  ) {{
    webhookSubscription {{ {WEBHOOK_SUBSCRIPTION_FIELDS} }}
    userErrors {{ field message }}
  }}
}}
"""

WEBHOOK_SUBSCRIPTION_DELETE_MUTATION = """
mutation WebhookSubscriptionDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) {
    deletedWebhookSubscriptionId
    userErrors { field message }
  }
}
"""


def bulk_orders_query(search: str) -> str:
    """Bulk text for the window's orders with line items, shipping lines and customer.

    Child lines carry ``__typename`` because ungrouped output (``groupObjects: false``)
    places them anywhere in the file, and only the type tells a line item from a shipping
    line once it is detached from its parent.
    """
    return f"""
{{
  orders(query: {_quote(search)}, sortKey: CREATED_AT) {{
    edges {{ node {{
      {ORDER_FIELDS}
      lineItems {{ edges {{ node {{ __typename {LINE_ITEM_FIELDS} }} }} }}
      shippingLines {{ edges {{ node {{ __typename {SHIPPING_LINE_FIELDS} }} }} }}
    }} }}
  }}
}}
"""


def bulk_customers_query(search: str) -> str:
    """Bulk text for the customers created in the window."""
    return f"""
{{
  customers(query: {_quote(search)}, sortKey: CREATED_AT) {{
    edges {{ node {{ {CUSTOMER_FIELDS} }} }}
  }}
}}
"""


DAYS_PER_COUNTS_QUERY = 31
"""Per-day ``ordersCount`` fields in one request: each costs 10, so 31 cost 310, well under
Shopify's single-query limit (1,000) and a sixth of a Standard plan's 2,000-point bucket."""


def orders_per_day_query(days: Sequence[tuple[datetime, datetime]]) -> str:
    """One ``ordersCount`` per ``[start, end)`` span, aliased ``d0``, ``d1``, ... in order.

    The filters are literals (like the bulk texts) rather than variables, so the text is
    one document per span list and needs no generated variable declarations.
    """
    if not days or len(days) > DAYS_PER_COUNTS_QUERY:
        raise ValueError(f"between 1 and {DAYS_PER_COUNTS_QUERY} days per query, not {len(days)}")
    fields = "\n".join(
        f"  d{index}: ordersCount(query: {_quote(window_filter(start, end))}, limit: null) "
        "{ count precision }"
        for index, (start, end) in enumerate(days)
    )
    return f"query OrdersPerDay {{\n{fields}\n}}\n"


def orders_counts_query(searches: Sequence[str]) -> str:
    """One request counting the orders of several searches (``c0``, ``c1``, ...).

    The preview counts each sampled buyer's orders in the window with it; the searches
    are written into the text (quoted) since their number varies.
    """
    fields = "\n".join(
        f"  c{index}: ordersCount(query: {_quote(search)}, limit: null) {{ count precision }}"
        for index, search in enumerate(searches)
    )
    return f"query OrdersCounts {{\n{fields}\n}}\n"


def all_query_texts() -> Iterator[tuple[str, str]]:
    """Every text above with a name, bulk builders expanded with a sample window."""
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    for name, value in sorted(globals().items()):
        if name.endswith(("_QUERY", "_MUTATION")) and isinstance(value, str):
            yield name, value
    yield "bulk_orders_query", bulk_orders_query(window_filter(start, end))
    yield "bulk_customers_query", bulk_customers_query(customer_window_filter(start, end))
    days = [
        (start + timedelta(days=offset), start + timedelta(days=offset + 1))
        for offset in range(DAYS_PER_COUNTS_QUERY)
    ]
    yield "orders_per_day_query", orders_per_day_query(days)
    window = window_filter(start, end)
    yield "orders_counts_query", orders_counts_query([f"customer_id:1 AND {window}", window])
