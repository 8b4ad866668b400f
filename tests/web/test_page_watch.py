"""``conftest.watch_page`` itself, in Chromium: what it flags, what ``expecting`` allows.

Pages are served by Playwright's request routing (no server needed): a clean page, one
that logs an error, throws, loads a missing image and calls a host that cannot be
reached, and one whose missing image is the step's point.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Route

from .conftest import watch_page

pytestmark = pytest.mark.browser

ORIGIN = "http://watch.test"
PAGES = {
    "/clean": "<!doctype html><title>clean</title><p>fine</p>",
    "/broken": """<!doctype html><title>broken</title>
<img src="/missing.png" alt="">
<script>
console.error("something broke");
fetch("http://unreachable.test/api").catch(() => {});
setTimeout(() => { throw new Error("thrown later"); }, 0);
</script>""",
    "/expected": '<!doctype html><title>expected</title><img src="/missing.png" alt="">',
}


def serve(route: Route) -> None:
    path = route.request.url.removeprefix(ORIGIN)
    if route.request.url.startswith("http://unreachable.test"):
        route.abort("connectionrefused")
    elif path in PAGES:
        route.fulfill(status=200, content_type="text/html", body=PAGES[path])
    elif path == "/favicon.ico":
        route.fulfill(status=200, content_type="image/svg+xml", body="<svg/>")
    else:
        route.fulfill(status=404, content_type="text/plain", body="not here")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    opened = browser.new_page()
    opened.route("**/*", serve)
    yield opened
    opened.close()


def test_a_clean_page_passes(page: Page) -> None:
    watch = watch_page(page)
    page.goto(f"{ORIGIN}/clean")
    watch.assert_clean("clean")


def test_errors_failures_and_404s_are_each_reported(page: Page) -> None:
    watch = watch_page(page)
    page.goto(f"{ORIGIN}/broken")
    page.wait_for_timeout(300)
    with pytest.raises(AssertionError) as failed:
        watch.assert_clean("broken")
    message = str(failed.value)
    assert message.startswith("broken: ")
    assert "console error: something broke" in message
    assert "uncaught exception: " in message and "thrown later" in message
    assert "request failed: GET http://unreachable.test/api" in message
    assert f"response 404: GET {ORIGIN}/missing.png" in message
    watch.assert_clean("after the report")  # reported once, then forgotten


def test_an_expected_status_is_allowed_and_must_come(page: Page) -> None:
    watch = watch_page(page)
    with watch.expecting(404, r"/missing\.png$"):
        page.goto(f"{ORIGIN}/expected")
        page.wait_for_load_state("load")
    watch.assert_clean("expected 404")  # neither the response nor its console echo

    with (
        pytest.raises(AssertionError, match="no 404 response matched"),
        watch.expecting(404, r"/missing\.png$"),
    ):
        page.goto(f"{ORIGIN}/clean")
    page.goto(f"{ORIGIN}/expected")  # outside the block: a problem again
    page.wait_for_load_state("load")
    with pytest.raises(AssertionError, match="response 404"):
        watch.assert_clean("unexpected 404")
