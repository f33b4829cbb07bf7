"""Reading Playwright's own disabled Chromium features from its driver's sources, in the
layouts its releases have shipped (a bundle since 1.5x, one module per file before)."""

from __future__ import annotations

from pathlib import Path

from adapters.browser._switches import playwright_disabled_features

# the shape of playwright-core's chromiumSwitches.ts as esbuild bundles it: comments between
# entries, an entry that depends on the environment, the list filtered afterwards
BUNDLE = """
// packages/playwright-core/src/server/chromium/chromiumSwitches.ts
var disabledFeatures, enabledFeatures, chromiumSwitches;
var init_chromiumSwitches = __esm({
  "packages/playwright-core/src/server/chromium/chromiumSwitches.ts"() {
    "use strict";
    disabledFeatures = [
      // See https://github.com/microsoft/playwright/issues/14047
      "AvoidUnnecessaryBeforeUnloadCheckSync",
      // See "https://github.com/microsoft/playwright/pull/8162"
      "MediaRouter",
      process.env.PLAYWRIGHT_KEEP_X ? "" : "PaintHolding",
      'ThirdPartyStoragePartitioning'
    ].filter(Boolean);
    enabledFeatures = () => [
      "CDPScreenshotNewSurface"
    ].filter(Boolean);
"""


def _driver(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return tmp_path


def test_the_bundled_list_is_read_without_comments_or_the_enabled_list(tmp_path: Path) -> None:
    driver = _driver(tmp_path, "lib/coreBundle.js", "var x = 1;\n" + BUNDLE)
    assert playwright_disabled_features(driver) == (
        "AvoidUnnecessaryBeforeUnloadCheckSync", "MediaRouter", "PaintHolding",
        "ThirdPartyStoragePartitioning")


def test_older_drivers_keep_it_in_a_module_of_its_own(tmp_path: Path) -> None:
    module = 'const disabledFeatures = [\n  "A",\n  "B",\n];\nexports.x = 1;\n'
    driver = _driver(tmp_path, "lib/server/chromium/chromiumSwitches.js", module)
    assert playwright_disabled_features(driver) == ("A", "B")


def test_a_driver_that_does_not_say_gives_none(tmp_path: Path) -> None:
    assert playwright_disabled_features(tmp_path) is None
    driver = _driver(tmp_path, "lib/coreBundle.js", "var disabledFeatures = [];\n")
    assert playwright_disabled_features(driver) is None


def test_the_installed_driver_has_one() -> None:
    found = playwright_disabled_features()
    assert found is not None and len(found) >= 3
