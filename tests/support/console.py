"""Console test helpers: sign in through the real form, read the CSRF token, post forms."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

from console.sessions import COOKIE_NAME

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token_of(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match is not None, "no CSRF token on the page"
    return match.group(1)


def set_cookies(response) -> dict[str, SimpleCookie]:
    jar: dict[str, SimpleCookie] = {}
    for header in response.headers.get_list("set-cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        for name in cookie:
            jar[name] = cookie
    return jar


async def sign_in(client, login: str, password: str, next_url: str = "") -> tuple[object, dict[str, str]]:
    """Open the sign-in page, post the form with its CSRF token; returns (response, headers for later calls)."""
    client.cookies.clear()
    _, form_page = await client.get("/console/login")
    token = csrf_token_of(form_page.text)
    pre = set_cookies(form_page)["rw_console_csrf"]["rw_console_csrf"].value
    client.cookies.clear()
    _, response = await client.post("/console/login", headers={"Cookie": f"rw_console_csrf={pre}"},
                                    data={"login": login, "password": password, "csrf_token": token,
                                          "next": next_url})
    client.cookies.clear()
    jar = set_cookies(response)
    if COOKIE_NAME not in jar:
        return response, {}
    session = jar[COOKIE_NAME][COOKIE_NAME].value
    _, board = await client.get("/console/board", headers={"Cookie": f"{COOKIE_NAME}={session}"})
    client.cookies.clear()
    csrf = csrf_token_of(board.text)
    return response, {"Cookie": f"{COOKIE_NAME}={session}", "X-CSRF-Token": csrf}
