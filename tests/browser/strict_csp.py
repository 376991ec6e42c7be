"""Pages under a Content-Security-Policy without 'unsafe-inline': the header is added to each document the
browser loads, and Chromium reports every inline style or script it refuses on the console."""

from __future__ import annotations

STRICT_POLICY = "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:"


def visit_under_strict_csp(page, paths: list[str]) -> None:
    """Load each path with the strict policy enforced; fail on any refusal or any inline style/script/handler."""
    refused: list[str] = []

    def on_console(message) -> None:
        if "Content Security Policy" in message.text:
            refused.append(f"{page.url}: {message.text}")

    def add_policy(route) -> None:
        if route.request.resource_type != "document":
            route.continue_()
            return
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT_POLICY})

    page.on("console", on_console)
    page.route("**/*", add_policy)
    try:
        for path in paths:
            page.goto(path)
            page.wait_for_load_state("load")
            inline = page.evaluate("""() => ({
                styles: document.querySelectorAll('[style]').length,
                scripts: [...document.scripts].filter(s => !s.src).length,
                handlers: [...document.querySelectorAll('*')].filter(
                    e => [...e.attributes].some(a => a.name.startsWith('on'))).length})""")
            assert inline == {"styles": 0, "scripts": 0, "handlers": 0}, f"{path}: inline content {inline}"
    finally:
        page.unroute("**/*", add_policy)
        page.remove_listener("console", on_console)
    assert not refused, refused
