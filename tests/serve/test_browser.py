"""gankit serve and gankit report in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`)
driven by Selenium draws a sample, uploads an image, checks each picture shown against the API's own answer, refuses
a bad upload on the page, saves a screenshot, then opens the run's report.html in the same session.

Without Chromium the test skips with the reason; with GANKIT_REQUIRE_BROWSER=1 (set by .ci/run) it fails instead."""

from __future__ import annotations

import io
import os
import shutil
import threading
import urllib.request

import numpy as np
import pytest
from PIL import Image

import gankit
from gankit.modelio import load
from gankit.report import write_report
from gankit.serve.app import make_server

from ..conftest import TINY

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
DRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and DRIVER):
        missing = "chromium" if not CHROMIUM else "chromedriver"
        if os.environ.get("GANKIT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"GANKIT_REQUIRE_BROWSER=1 but {missing} is not installed (apt-get install chromium "
                        "chromium-driver)")
        pytest.skip(f"{missing} is not installed (apt-get install chromium chromium-driver); CI runs this test")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1100,1400", "--allow-file-access-from-files"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A tiny InfoGAN run (sample, encode, explore) served over HTTP on a free local port."""
    run = tmp_path_factory.mktemp("browser") / "infogan"
    gankit.train("infogan", "digits", overrides=[*TINY, "model.hidden=32"], steps=4, out=run, device="cpu",
                 progress=False)
    server, sock, url = make_server(load(run), "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        threading.Event().wait(0.01)
    assert server.started
    yield run, url
    server.should_exit = True
    thread.join(10)


def api_png(url: str, data: bytes | None = None) -> Image.Image:
    with urllib.request.urlopen(urllib.request.Request(url, data=data, method="POST")) as response:
        assert response.headers["content-type"] == "image/png"
        return Image.open(io.BytesIO(response.read())).convert("RGBA")


def shown(driver, element_id: str) -> np.ndarray:
    """The pixels of the picture the page shows, read back through a canvas: (H, W, 4) uint8."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script(f"const i = document.getElementById('{element_id}'); "
                                   "return i !== null && i.dataset.loaded === '1';"))
    width, height, data = driver.execute_script(f"""
        const img = document.getElementById('{element_id}');
        const canvas = document.createElement('canvas');
        canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
        const context = canvas.getContext('2d');
        context.drawImage(img, 0, 0);
        return [canvas.width, canvas.height, Array.from(context.getImageData(0, 0, canvas.width, canvas.height).data)];
    """)
    return np.array(data, dtype=np.uint8).reshape(height, width, 4)


def test_page_and_report_in_headless_chromium(browser, served, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    run, url = served
    browser.get(url)
    WebDriverWait(browser, 30).until(lambda d: d.execute_script("return document.body.dataset.ready === '1';"))
    assert browser.title == "gankit serve: infogan"
    sections = [s.get_attribute("id") for s in browser.find_elements(By.CSS_SELECTOR, "section")]
    assert sections == ["ep-sample", "ep-encode", "ep-reconstruct", "ep-explore"]  # what InfoGAN does, nothing else

    # draw a sample: 4 images from seed 5, the very picture the API gives for those parameters
    for name, value in (("n", "4"), ("seed", "5")):
        field = browser.find_element(By.ID, f"sample-{name}")
        field.clear()
        field.send_keys(value)
    browser.find_element(By.ID, "run-sample").click()
    got = shown(browser, "result-sample")
    assert got.shape == (2 + 2 * 66, 2 + 2 * 66, 4)  # 2 x 2 tiles of 64 px: the page sent n=4
    assert np.array_equal(got, np.asarray(api_png(f"{url}api/sample?n=4&seed=5")))

    # upload an image: the page shows x beside G(E(x)), as the API answers for the same file
    digit = tmp_path / "digit.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(digit)
    browser.find_element(By.ID, "file-reconstruct").send_keys(str(digit))
    browser.find_element(By.ID, "run-reconstruct").click()
    expected = api_png(f"{url}api/reconstruct", digit.read_bytes())
    got = shown(browser, "result-reconstruct")
    assert got.shape == (2 + 130, 2 + 2 * 130, 4) and np.array_equal(got, np.asarray(expected))

    # a file that is not an image: the page says why, in one line
    junk = tmp_path / "notes.png"
    junk.write_text("not a picture")
    browser.find_element(By.ID, "file-encode").send_keys(str(junk))
    browser.find_element(By.ID, "run-encode").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.ID, "error-encode"))
    assert browser.find_element(By.ID, "error-encode").text.startswith("400: not a readable image: not an image")
    browser.find_element(By.ID, "file-encode").clear()
    browser.find_element(By.ID, "file-encode").send_keys(str(digit))
    browser.find_element(By.ID, "run-encode").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.ID, "json-encode"))
    assert '"c1"' in browser.find_element(By.ID, "json-encode").text

    screenshot = tmp_path / "serve.png"
    assert browser.save_screenshot(str(screenshot))
    with Image.open(screenshot) as img:
        assert img.size[0] >= 1000 and len(img.getcolors(1 << 20) or []) > 10  # a page, not a blank frame

    # the run's report, in the same browser: its charts drawn and its embedded sample grids decoded
    report = write_report(run)
    browser.get(report.as_uri())
    assert browser.title == "infogan on digits - gankit report"
    lengths = browser.execute_script("return Array.from(document.querySelectorAll('.charts polyline'))"
                                     ".map(p => p.getTotalLength());")
    assert lengths and all(length > 0 for length in lengths)  # two logged rows: a line in every chart
    sizes = browser.execute_script("return Array.from(document.querySelectorAll('.grids img'))"
                                   ".map(i => [i.complete, i.naturalWidth]);")
    assert sizes and all(complete and width > 0 for complete, width in sizes)
    browser.save_screenshot(str(tmp_path / "report.png"))
