"""Without Chromium the browser test must fail in CI (it would otherwise test nothing)."""

from __future__ import annotations

import pytest

from tests.browser import conftest as browser_test


def test_missing_chromium_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser_test, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must test the dashboard"):
        browser_test._chromium()


def test_missing_chromium_skips_on_a_workstation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser_test, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        browser_test._chromium()
