from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser
from tests.support.accounts import LogoutReceiver, Mailbox, launch
from tests.support.oidc_rp import close_all


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    yield from launch()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture
def receiver() -> Iterator[LogoutReceiver]:
    r = LogoutReceiver()
    yield r
    r.close()


@pytest.fixture(autouse=True)
def _close_http_clients() -> Iterator[None]:
    yield
    close_all()
