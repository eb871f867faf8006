"""See the notebooks as a user does: open each in a real JupyterLab (headless Chromium), Run All, time it, count
the figures shown as images and the error outputs, then work every widget (type a new value into each slider's
readout, press each button) and check that a figure redraws.

    jupyter lab --no-browser --allow-root --port 8899 --ServerApp.token='' &      # from the repo root
    python scripts/browser_check.py http://localhost:8899 notebooks/01_dataset_synthesis.ipynb ...

Prints one JSON line per notebook (seconds of Run All, images, errors, widgets that responded) and writes a
screenshot of each to ``browser_check/<name>.png`` in the current folder.  Needs Debian's ``chromium`` and
``chromium-driver`` and ``pip install selenium`` (none of them project dependencies: this is a manual check;
the tests read the executed notebooks instead).  ``CHROMIUM`` names the browser when it is not on the PATH.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

RUN_LIMIT_S = 900          # give up on a notebook after this long


def browser() -> webdriver.Chrome:
    options = Options()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000",
                "--disable-background-networking", "--disable-component-update", "--no-first-run"):
        options.add_argument(arg)
    options.binary_location = os.environ.get("CHROMIUM", shutil.which("chromium") or "chromium")
    return webdriver.Chrome(options=options)


def menu(driver: webdriver.Chrome, top: str, item: str) -> None:
    """Click ``top`` in the menu bar, then ``item`` in its menu."""
    [e for e in driver.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-itemLabel") if e.text.strip() == top][0].click()
    time.sleep(1)
    [e for e in driver.find_elements(By.CSS_SELECTOR, ".lm-Menu-itemLabel") if e.text.strip() == item][0].click()


def images(driver: webdriver.Chrome) -> list[str]:
    """The ``src`` of every image in the notebook's outputs, in order."""
    return [e.get_attribute("src") or "" for e in driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output img")]


def busy(driver: webdriver.Chrome) -> bool:
    return any("*" in e.text for e in driver.find_elements(By.CSS_SELECTOR, ".jp-InputPrompt"))


def wait_idle(driver: webdriver.Chrome, limit: float, settle: float = 3.0) -> float:
    """Wait until no cell shows ``[*]``; return the seconds waited."""
    start = time.time()
    time.sleep(settle)
    while busy(driver) and time.time() - start < limit:
        time.sleep(1)
    return time.time() - start


def work_widgets(driver: webdriver.Chrome) -> dict[str, int]:
    """Type a new value into every slider readout and press every button; count those after which an image changed."""
    counts = {"sliders": 0, "sliders_redrew": 0, "buttons": 0, "buttons_redrew": 0}
    for readout in driver.find_elements(By.CSS_SELECTOR, ".widget-slider .widget-readout"):
        before = images(driver)
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", readout)
        value = readout.text.strip()
        try:
            new = str(round(float(value) * 0.5 + 0.1, 2)) if "." in value else str(int(value) + 1)
        except ValueError:
            continue
        readout.click()
        readout.send_keys(Keys.CONTROL, "a")
        readout.send_keys(new, Keys.ENTER)
        counts["sliders"] += 1
        wait_idle(driver, 120, settle=4)
        counts["sliders_redrew"] += images(driver) != before
    for button in driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output button.jupyter-button"):
        before = images(driver)
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
        button.click()
        counts["buttons"] += 1
        start = time.time()
        while images(driver) == before and time.time() - start < 120:
            time.sleep(2)
        counts["buttons_redrew"] += images(driver) != before
    return counts


def check(driver: webdriver.Chrome, server: str, notebook: str, shots: Path) -> dict:
    driver.get(f"{server}/lab/tree/{notebook}")
    time.sleep(15)
    menu(driver, "Run", "Run All Cells")
    seconds = wait_idle(driver, RUN_LIMIT_S)
    errors = [e.text[:300] for e in driver.find_elements(
        By.CSS_SELECTOR, '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
        if "Error" in e.text or "Traceback" in e.text]
    shown = {"notebook": notebook, "run_all_s": round(seconds), "finished": not busy(driver),
             "images": len(images(driver)),
             "text_figures": sum("<Figure size" in e.text for e in driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output")),
             "errors": errors, **work_widgets(driver)}
    driver.save_screenshot(str(shots / f"{Path(notebook).stem}.png"))
    menu(driver, "Kernel", "Shut Down Kernel")
    time.sleep(2)
    return shown


def main() -> None:
    server, notebooks = sys.argv[1].rstrip("/"), sys.argv[2:]
    shots = Path("browser_check")
    shots.mkdir(exist_ok=True)
    driver = browser()
    try:
        driver.set_page_load_timeout(600)
        for notebook in notebooks:
            try:
                print(json.dumps(check(driver, server, notebook, shots)), flush=True)
            except Exception as err:            # report it and go on with the next notebook
                print(json.dumps({"notebook": notebook, "check_failed": f"{type(err).__name__}: {err}"[:500]}), flush=True)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
