"""The page's pictures: the preview's orders-per-day chart and the report's bars.

The expected figures are computed here from independent sources: the stand-in's own
order documents for the chart (bucketed by UTC day in this test), the stored report (its
JSON through the API) for the bars.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from .conftest import Web
from .test_pages import completed_backfill

RECT = re.compile(
    r'<rect x="[^"]+" y="([^"]+)" width="[^"]+" height="([^"]+)"\s+'
    r'data-day="([^"]+)" data-orders="(\d+)"'
)


def expected_per_day(web: Web, start: datetime, end: datetime) -> Counter[str]:
    """Orders created in ``[start, end)`` per UTC day, straight from the stand-in's store."""
    days: Counter[str] = Counter()
    for order in web.shop.store.iter_all_orders():
        created = datetime.fromisoformat(order["createdAt"].replace("Z", "+00:00"))
        if start <= created < end:
            days[created.astimezone(start.tzinfo).strftime("%Y-%m-%d")] += 1
    return days


def chart_of(page: str) -> str:
    found = re.search(
        r'<figure class="chart" data-chart="orders-per-day">(.*?)</figure>', page, re.S
    )
    assert found, "the preview has the orders-per-day chart"
    return found.group(1)


def test_the_chart_shows_shopifys_orders_per_day(web: Web) -> None:
    store = web.connect(web.alice)
    preview = web.alice.get(f"/api/v1/stores/{store['id']}/preview").json()
    start = datetime.fromisoformat(preview["window"]["start"])
    end = datetime.fromisoformat(preview["window"]["end"])
    expected = expected_per_day(web, start, end)
    assert sum(expected.values()) == preview["orders_in_window"] > 0

    chart = chart_of(web.alice.get(f"/stores/{store['id']}/wizard?backfill=on").text)
    bars = [(float(y), float(h), day, int(n)) for y, h, day, n in RECT.findall(chart)]
    last = (end - timedelta(microseconds=1)).date()
    assert len(bars) == (last - start.date()).days + 1  # each UTC day the window touches
    assert [day for _, _, day, _ in bars] == sorted(day for _, _, day, _ in bars)
    assert bars[0][2] == f"{start:%Y-%m-%d}" and bars[-1][2] == f"{last:%Y-%m-%d}"
    assert {day: n for _, _, day, n in bars if n} == dict(expected)

    # Heights are to scale: the busiest day fills the chart, an empty day has no bar.
    peak = max(expected.values())
    for y, height, day, count in bars:
        assert abs(height - 160 * count / peak) < 1.01, (day, height, count)
        assert abs(y + height - 160) < 0.01
    busiest_day = min(day for day, n in expected.items() if n == peak)
    average = sum(expected.values()) / ((end - start).total_seconds() / 86400)
    summary = re.search(r"data-chart-summary>(.*?)</p>", chart, re.S)
    assert summary
    label = datetime.strptime(busiest_day, "%Y-%m-%d").strftime("%b %-d")
    assert f"busiest day {label} with {peak:,} orders" in summary.group(1)
    assert f"{average:,.1f} orders a day on average" in summary.group(1)
    assert (
        'role="img"' in chart
        and 'aria-labelledby="orders-chart-title orders-chart-summary"' in chart
    )
    assert '<title id="orders-chart-title">Orders per day' in chart
    assert "<script" not in chart and "http" not in chart.replace("http://www.w3.org", "")

    days_json = preview["orders_per_day"]["days"]
    assert [d["orders"] for d in days_json] == [n for _, _, _, n in bars]


def bars_of(page: str, name: str) -> dict[str, int]:
    found = re.search(rf'<ul class="hbars"[^>]*data-bars="{name}">(.*?)</ul>', page, re.S)
    assert found, name
    return {
        key: int(value)
        for key, value in re.findall(
            r'<li data-bar-key="([^"]+)">.*?data-value="(\d+)"', found.group(1), re.S
        )
    }


def test_the_reports_bars_are_its_figures(web: Web) -> None:
    _, backfill_id = completed_backfill(web)
    report: dict[str, Any] = web.alice.get(f"/api/v1/backfills/{backfill_id}").json()["report"]
    page = web.alice.get(f"/backfills/{backfill_id}").text
    written = bars_of(page, "written")
    assert written == {
        "customers-created": report["customers"]["created"],
        "customers-updated": report["customers"]["updated"],
        "guests-created": report["guests"]["profiles_created"],
        "events": report["events"],
        "purchases": report["purchases"],
    }
    assert written["events"] > 0 and written["customers-created"] > 0
    categories = bars_of(page, "data-points")
    assert categories == report["data_points"]["by_category"]
    assert sum(categories.values()) == report["data_points"]["total"]
    # The longest bar of each chart is full width; the others are in proportion.
    widths = re.findall(r'data-bars="written">.*?</ul>', page, re.S)[0]
    lengths = [float(w) for w in re.findall(r'<rect width="([\d.]+)%"', widths)]
    peak = max(written.values())
    assert lengths == [round(100 * v / peak, 2) for v in written.values()]
