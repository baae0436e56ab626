#!/usr/bin/env python3
"""Opens one HTML file in headless Chromium through WebDriver (Debian's chromium and
chromium-driver, the pinned selenium client in ./.venv) and prints, as JSON, what the
rendered page shows: its title, every drawn hop (its data-hop and data-status, and whether it
has a size on the page), every request beyond the file itself, every console message.
With a second argument it saves a screenshot of the whole page there.

Usage: browser-check.py PAGE.html [SCREENSHOT.png]
"""
import json
import pathlib
import shutil
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


def main() -> int:
    page = pathlib.Path(sys.argv[1]).resolve()
    shot = sys.argv[2] if len(sys.argv) > 2 else None
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    # As root Chromium needs --no-sandbox; the page is our own file, with no script.
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--window-size=1600,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(
        service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"),
        options=options,
    )
    try:
        url = page.as_uri()
        driver.get(url)
        hops = [
            {
                "hop": g.get_attribute("data-hop"),
                "status": g.get_attribute("data-status"),
                "drawn": g.rect["width"] > 0 and g.rect["height"] > 0,
            }
            for g in driver.find_elements(By.CSS_SELECTOR, "g.hop")
        ]
        requests = []
        for entry in driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                requested = message["params"]["request"]["url"]
                if requested != url:
                    requests.append(requested)
        console = [e["message"] for e in driver.get_log("browser")]
        if shot:
            size = driver.find_element(By.TAG_NAME, "html").rect
            driver.set_window_size(max(1200, int(size["width"]) + 40),
                                   int(size["height"]) + 140)
            driver.save_screenshot(shot)
        print(json.dumps({
            "title": driver.title,
            "hops": hops,
            "requests": requests,
            "console": console,
            "screenshot": shot,
        }))
    finally:
        driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
