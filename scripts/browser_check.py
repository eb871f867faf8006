"""See a notebook as a user does: open it in a real JupyterLab (headless Chromium), count the figures
shown as images (and any shown as text), run all cells live, then move the second slider of the
first interactive widget and check that its image redraws.

    jupyter lab --no-browser --allow-root --port 8899 --ServerApp.token='' &      # from the repo root
    python scripts/browser_check.py http://localhost:8899/lab/tree/runs/executed/smoke/05_latent_space.ipynb

Needs Debian's ``chromium`` and ``chromium-driver`` and ``pip install selenium`` (none of them
project dependencies: this is a manual check, the tests read the executed notebooks instead).
Writes a screenshot to ``browser_check.png`` in the current folder; ``CHROMIUM`` names the browser
when it is not ``chromium`` on the PATH.
"""
import os, shutil, sys, time
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.chrome.options import Options

url = sys.argv[1]
o = Options()
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"]:
    o.add_argument(a)
o.binary_location = os.environ.get("CHROMIUM", shutil.which("chromium") or "chromium")
d = webdriver.Chrome(options=o)
d.get(url)
time.sleep(20)
def imgs():
    return d.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output img")
print("stored images shown:", len(imgs()))
print("text figure reprs:", sum("<Figure size" in e.text for e in d.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output")))
# Run > Run All Cells
labels = d.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-itemLabel")
print("menus:", [e.text for e in labels])
[e for e in labels if e.text.strip() == "Run"][0].click()
time.sleep(2)
items = d.find_elements(By.CSS_SELECTOR, ".lm-Menu-itemLabel")
print("run menu:", [e.text for e in items][:12])
[e for e in items if e.text.strip() == "Run All Cells"][0].click()
t0 = time.time()
while time.time() - t0 < 400:
    time.sleep(5)
    status = d.find_elements(By.CSS_SELECTOR, ".jp-Notebook-ExecutionIndicator")
    busy = [e.get_attribute("data-status") for e in status]
    prompts = [e.text for e in d.find_elements(By.CSS_SELECTOR, ".jp-InputPrompt")]
    if time.time() - t0 > 20 and not any("*" in p for p in prompts):
        break
print("ran in", round(time.time() - t0), "s; images now:", len(imgs()))
errs = d.find_elements(By.CSS_SELECTOR, '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
print("error outputs:", [e.text[:200] for e in errs if "Error" in e.text][:3])
sliders = d.find_elements(By.CSS_SELECTOR, ".widget-slider")
print("sliders:", len(sliders))
box = d.find_elements(By.CSS_SELECTOR, ".widget-interact")
print("interact widgets:", len(box))
w = box[0]
d.execute_script("arguments[0].scrollIntoView();", w)
def widget_img():
    ims = w.find_elements(By.CSS_SELECTOR, "img")
    return ims[0].get_attribute("src") if ims else None
before = widget_img()
print("image in the widget before:", before is not None)
readouts = w.find_elements(By.CSS_SELECTOR, ".widget-readout")
r = readouts[1] if len(readouts) > 1 else readouts[0]
print("readout value before:", r.text)
r.click(); time.sleep(0.5)
r.send_keys(Keys.CONTROL, "a"); r.send_keys("2.5"); r.send_keys(Keys.ENTER)
time.sleep(8)
after = widget_img()
print("readout after:", r.text, "; image changed:", after is not None and after != before)
d.save_screenshot("browser_check.png")
d.quit()
