"""The studio's page in a real headless browser (Debian's chromium and its driver; `.ci/run` installs them): the
gallery loads, a slider redraws the image, a direction taught by clicking becomes a slider, the live view shows the
snapshot a training run writes meanwhile; and downloads, reproducing a dropped or pasted recipe, projection,
interpolation and mixing work from the page.

With GANKIT_SCREENSHOTS=DIR the tests save the screenshots the README and docs/studio.md show, of the run named by
GANKIT_SCREENSHOTS_RUN=RUN when set (a model trained longer than the tests' tiny one, e.g. by `gankit demo`)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import gankit
from gankit import run_folder
from tests.studio.browser import Browser, require_browser
from tests.studio.conftest import open_session, serving

SHOWN_RUN_ENV = "GANKIT_SCREENSHOTS_RUN"

# Draws an <img> into a canvas and returns its pixels as one string, so two images compare by what they show
# (a blob: URL changes on every render even when the pixels do not).
PIXELS = """
const img = arguments[0];
if (!img.complete || !img.naturalWidth) return null;  // a new src still decoding
const c = document.createElement('canvas');
c.width = img.naturalWidth; c.height = img.naturalHeight;
const g = c.getContext('2d'); g.drawImage(img, 0, 0);
return c.width + 'x' + c.height + ':' + Array.from(g.getImageData(0, 0, c.width, c.height).data).join(',');
"""

# The bytes behind an <img> and behind an API URL, base64, fetched by the page itself.
BYTES = """
const b64 = async (url, init) => {
  const buf = new Uint8Array(await (await fetch(url, init)).arrayBuffer());
  let s = ''; for (const x of buf) s += String.fromCharCode(x); return btoa(s);
};
Promise.all([b64(arguments[0]), b64(arguments[1], arguments[2])]).then(done, (e) => done('error: ' + e));
"""


@pytest.fixture(scope="module")
def browser():
    require_browser()
    b = Browser()
    yield b
    b.quit()


@pytest.fixture(scope="module")
def server(request):
    """Base URL of a studio over the tiny ``dcgan_run``; over the run named by GANKIT_SCREENSHOTS_RUN instead when
    that is set (a model trained longer, whose pictures are worth showing in the docs)."""
    shown = os.environ.get(SHOWN_RUN_ENV)
    if not shown:
        yield request.getfixturevalue("live_server")
        return
    with serving(open_session(run=shown)) as url:
        yield url


@pytest.fixture
def watched_run(request, tmp_path) -> Path:
    """A writable copy of the run the live test watches: ``dcgan_run``, or GANKIT_SCREENSHOTS_RUN's run."""
    shown = os.environ.get(SHOWN_RUN_ENV)
    if not shown:
        return request.getfixturevalue("run_copy")
    return Path(shutil.copytree(shown, tmp_path / "run", ignore=shutil.ignore_patterns(".lock", "tensorboard")))


@pytest.fixture(autouse=True)
def leave_page(request):
    """Each browser test leaves the page afterwards, closing its event stream before its server stops."""
    yield
    if "browser" in request.fixturenames:
        request.getfixturevalue("browser").driver.get("about:blank")


def test_a_missing_browser_skips_here_but_fails_under_ci(monkeypatch):
    import tests.studio.browser as browser_module

    monkeypatch.setattr(browser_module, "CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium chromium-driver"):
        require_browser()
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="CI is set.*/nonexistent/chromium missing"):
        require_browser()


def loaded(b: Browser, css: str) -> int:
    """How many images match ``css`` and have decoded (naturalWidth > 0)."""
    return b.js("return Array.from(document.querySelectorAll(arguments[0]))"
                ".filter(i => i.complete && i.naturalWidth > 0).length", css)


def settled(read, quiet_s: float, timeout_s: float = 30):
    """``read()`` once it has kept one value for ``quiet_s`` seconds."""
    value, since, start = read(), time.monotonic(), time.monotonic()
    while time.monotonic() - since < quiet_s:
        assert time.monotonic() - start < timeout_s, f"the value kept changing for {timeout_s} s (last {value})"
        time.sleep(0.05)
        if (now := read()) != value:
            value, since = now, time.monotonic()
    return value


def get_json(server: str, path: str):
    return json.loads(urllib.request.urlopen(server + path, timeout=30).read())


def post_json(server: str, path: str, body):
    request = urllib.request.Request(server + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(request, timeout=30).read())


def brightness(b: Browser, img) -> float:
    """The mean of an <img>'s pixels' RGB values."""
    return b.js("""const img = arguments[0], c = document.createElement('canvas');
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const g = c.getContext('2d'); g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, c.width, c.height).data; let sum = 0;
        for (let i = 0; i < d.length; i += 4) sum += d[i] + d[i + 1] + d[i + 2];
        return sum / (d.length / 4 * 3);""", img)


def view_pixels(b: Browser) -> str:
    """The image view's pixels, once its image has decoded: a slider may have just given it a new src."""
    return b.wait(lambda d: b.js(PIXELS, d.find_element("id", "view-image")), 30, "the image view never decoded")


def test_gallery_loads_every_tile(browser, server):
    browser.open(server)
    tiles = browser.driver.find_elements("css selector", "#gallery .tile img")
    assert len(tiles) == 24  # the first page, per_page 24
    browser.wait(lambda d: loaded(browser, "#gallery .tile img") == 24, 30, "gallery images did not all decode")
    captions = [t.text for t in browser.driver.find_elements("css selector", "#gallery .tile .caption")]
    assert captions[0].startswith("seed 0") and captions[23].startswith("seed 23")
    assert all("ψ 1.00" in c for c in captions)
    # The class picker only for a conditional model; the live tab for a run.
    conditional = browser.js("return S.model.num_classes") > 0
    assert browser.driver.find_element("id", "class-row").is_displayed() == conditional
    assert browser.driver.find_element("id", "tab-live").is_displayed()
    # Next page: seeds 24..47.
    browser.driver.find_element("id", "page-next").click()
    first_seed = lambda d: d.find_element("css selector", "#gallery .tile .seed").text  # noqa: E731
    browser.wait(lambda d: first_seed(d) == "seed 24")
    browser.driver.find_element("id", "page-prev").click()
    browser.wait(lambda d: first_seed(d) == "seed 0")
    browser.wait(lambda d: loaded(browser, "#gallery .tile img") == 24, 30)
    # Any seed opens by number, drawn as `gankit sample --seed S -n 1` draws it.
    browser.driver.find_element("id", "seed-input").send_keys("1234\n")
    browser.wait(lambda d: "seed 1234" in d.find_element("id", "view-caption").text, 30)
    browser.wait(lambda d: loaded(browser, "#view-image") == 1 and browser.js(
        "return S.renderSeq + '' === document.querySelector('#view-image').dataset.seq"), 30)
    shown, direct = browser.js_async(BYTES, browser.driver.find_element("id", "view-image").get_attribute("src"),
                                     "/api/image?seed=1234", {})
    assert shown == direct


def test_slider_redraws_the_image_and_the_view_shows_the_final_recipe(browser, server):
    from selenium.webdriver.common.keys import Keys

    browser.open(server)
    browser.driver.find_elements("css selector", "#gallery .tile img")[3].click()
    browser.wait(lambda d: loaded(browser, "#view-image") == 1, 30, "the image view never showed an image")
    assert "seed 3" in browser.driver.find_element("id", "view-caption").text
    browser.wait(lambda d: d.find_element("id", "latent").get_attribute("value").startswith("["))
    z_dim = browser.js("return S.model.z_dim")
    latent = browser.driver.find_element("id", "latent").get_attribute("value")
    assert len(latent.strip("[]").split(",")) == z_dim
    before = view_pixels(browser)

    sliders = browser.driver.find_elements("css selector", ".direction-slider")
    assert sliders, "no direction sliders"
    name = sliders[0].get_attribute("data-name")
    src = browser.driver.find_element("id", "view-image").get_attribute("src")
    # Count the image requests the page makes, and how many are in flight at once.
    browser.js("""window.seen = {sent: 0, open: 0, most: 0}; const plain = window.fetch;
        window.fetch = async (url, init) => {
          const image = url === '/api/image';
          if (image) { seen.sent++; seen.open++; seen.most = Math.max(seen.most, seen.open); }
          try { return await plain(url, init); } finally { if (image) seen.open--; }
        };""")
    sliders[0].send_keys(Keys.END)  # a real key press: input events, alpha to the slider's maximum
    for _ in range(12):  # and steps back in a quick run of presses: they collapse into few requests
        sliders[0].send_keys(Keys.LEFT)
    browser.wait(lambda d: d.find_element("id", "view-image").get_attribute("src") != src, 30, "no redraw")
    alpha = float(sliders[0].get_attribute("value"))
    assert abs(alpha - (3 - 12 * 0.05)) < 1e-9
    classes = browser.js("return S.model.num_classes")
    recipe = {"seed": 3, "z": None, "class": 3 % classes if classes else None, "truncation": 1.0,
              "edits": [{"direction": name, "alpha": alpha}]}
    # Wait for the newest request's image, then check it is exactly what the API draws for the final recipe.
    browser.wait(lambda d: browser.js("return S.renderSeq + '' === document.querySelector('#view-image')"
                                      ".dataset.seq && !document.querySelector('#view-image').classList"
                                      ".contains('busy')"), 30)
    shown, direct = browser.js_async(BYTES, browser.driver.find_element("id", "view-image").get_attribute("src"),
                                     "/api/image", {"method": "POST", "headers": {"Content-Type": "application/json"},
                                                    "body": json.dumps(recipe)})
    assert json.loads(browser.driver.find_element("id", "recipe").get_attribute("value"))["edits"] == recipe["edits"]
    assert shown == direct
    assert view_pixels(browser) != before, "moving the slider did not change the image"
    seen = browser.js("return window.seen")
    assert seen["most"] == 1 and seen["sent"] >= 1, seen  # never two image requests in flight at once
    # The latent box follows the edit.
    browser.wait(lambda d: d.find_element("id", "latent").get_attribute("value") != latent, 30)

    browser.screenshot("studio-steer")
    truncation = browser.driver.find_element("id", "slider-truncation")
    edited = view_pixels(browser)
    truncation.send_keys(Keys.HOME)  # psi 0: every seed draws the mean latent (plus the edit)
    browser.wait(lambda d: d.find_element("id", "truncation-value").text == "0.00")
    browser.wait(lambda d: view_pixels(browser) != edited, 30, "the truncation slider did not change the image")


def test_downloads_carry_the_image_its_latent_and_recipe(browser, server, tmp_path):
    browser.driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    browser.open(server)
    browser.driver.find_elements("css selector", "#gallery .tile img")[2].click()
    browser.wait(lambda d: d.find_element("id", "latent").get_attribute("value").startswith("["), 30)
    shown = [float(v) for v in browser.driver.find_element("id", "latent").get_attribute("value").strip("[]").split(",")]
    for button in ("download-png", "download-npy", "download-json"):
        browser.driver.find_element("id", button).click()
    names = ("gankit-seed2.png", "gankit-seed2.npy", "gankit-seed2.json")
    browser.wait(lambda d: all((tmp_path / n).is_file() for n in names), 30, "not every download arrived")
    latent = np.load(tmp_path / "gankit-seed2.npy", allow_pickle=False)
    assert latent.shape == (1, len(shown)) and latent.dtype == np.float32
    assert np.allclose(latent[0], shown, atol=1e-6)
    saved = json.loads((tmp_path / "gankit-seed2.json").read_text())
    assert saved["seed"] == 2 and np.allclose(saved["latent"], shown, atol=1e-6)
    # The PNG is the image shown, its recipe inside: the API reads it back as this recipe.
    back = browser.js_async("""
        fetch(document.querySelector('#view-image').src).then(r => r.blob()).then(blob => {
          const form = new FormData(); form.append('file', blob, 'x.png');
          return fetch('/api/reproduce', {method: 'POST', body: form});
        }).then(r => r.json()).then(done);""")
    assert back["seed"] == 2 and back["truncation"] == 1.0
    shown_png = browser.js_async(BYTES, browser.driver.find_element("id", "view-image").get_attribute("src"),
                                 "/api/image?seed=2", {})[0]
    assert (tmp_path / "gankit-seed2.png").read_bytes() == base64.b64decode(shown_png)


def test_teaching_by_clicking_adds_a_slider_along_the_marked_attribute(browser, server):
    from selenium.webdriver.common.keys import Keys

    browser.open(server)
    browser.wait(lambda d: loaded(browser, "#gallery .tile img") == 24, 30)
    # The attribute taught is one the test can measure: brightness. The brightest images are marked as having it,
    # the darkest as lacking it, by clicking their tiles' buttons as a user would.
    tiles = browser.driver.find_elements("css selector", "#gallery .tile")
    light = [brightness(browser, t.find_element("css selector", "img")) for t in tiles]
    order = sorted(range(len(tiles)), key=light.__getitem__)
    for i in order[-5:]:
        tiles[i].find_element("css selector", ".mark-has").click()
    for i in order[:5]:
        tiles[i].find_element("css selector", ".mark-lacks").click()
    middle = order[len(order) // 2]
    tiles[middle].find_element("css selector", ".mark-has").click()
    tiles[middle].find_element("css selector", ".mark-has").click()  # a second click unmarks
    assert browser.driver.find_element("id", "teach-n-has").text == "5"
    assert browser.driver.find_element("id", "teach-n-lacks").text == "5"
    assert len(browser.driver.find_elements("css selector", "#gallery .tile.has")) == 5
    assert not browser.driver.find_elements("css selector", '.direction-slider[data-name="bright"]')

    browser.driver.find_element("id", "teach-name").send_keys("bright")
    browser.driver.find_element("id", "teach-fit").click()
    browser.wait(lambda d: d.find_elements("css selector", '.direction-slider[data-name="bright"]'), 30,
                 "the taught direction has no slider")
    text = browser.driver.find_element("id", "teach-accuracy").text
    assert "validation accuracy" in text and "from 5 + 5 images" in text
    assert 0 <= float(browser.driver.find_element("id", "teach-accuracy").get_attribute("data-accuracy")) <= 1
    browser.screenshot("studio-gallery")  # the gallery with marked images and the slider they taught
    assert browser.driver.find_element("id", "teach-save").get_attribute("disabled")  # no --directions DIR

    # The direction points from the images marked "lacks" to those marked "has" (the page sent each side as such):
    # every marked image's latent lies on its side.
    vector = np.array(get_json(server, "/api/directions/bright")["vector"])
    seeds = [int(t.get_attribute("data-seed")) for t in tiles]
    side = [float(vector @ np.array(post_json(server, "/api/latent", {"seed": seeds[i]})["latent"])) for i in order]
    assert min(side[-5:]) > max(side[:5]), side

    # The new slider steers like any other.
    browser.driver.find_elements("css selector", "#gallery .tile img")[middle].click()
    browser.wait(lambda d: loaded(browser, "#view-image") == 1, 30)
    pixels = view_pixels(browser)
    browser.driver.find_element("css selector", '.direction-slider[data-name="bright"]').send_keys(Keys.END)
    browser.wait(lambda d: view_pixels(browser) != pixels, 30, "the taught slider did not change the image")


def test_a_taught_direction_is_saved_in_the_directions_folder(browser, dcgan_run, tmp_path):
    from gankit.latent.directions import load_direction

    with serving(open_session(run=dcgan_run, directions=tmp_path)) as url:
        browser.open(url)
        tiles = browser.driver.find_elements("css selector", "#gallery .tile")
        for t in tiles[:3]:
            t.find_element("css selector", ".mark-has").click()
        for t in tiles[3:6]:
            t.find_element("css selector", ".mark-lacks").click()
        browser.driver.find_element("id", "teach-name").send_keys("collar")
        browser.driver.find_element("id", "teach-fit").click()
        browser.wait(lambda d: d.find_element("id", "teach-save").get_attribute("disabled") is None, 30,
                     "Save was not offered after the fit")
        assert not (tmp_path / "collar.npy").exists()  # fitting alone writes nothing
        browser.driver.find_element("id", "teach-save").click()
        browser.wait(lambda d: "saved as collar.npy" in d.find_element("id", "teach-accuracy").text, 30)
        shown = browser.js_async("fetch('/api/directions/collar').then(r => r.json()).then(d => done(d.vector))")
        browser.driver.get("about:blank")
    saved = load_direction(tmp_path / "collar.npy", len(shown))  # the `gankit directions` format
    assert max(abs(a - b) for a, b in zip(saved.tolist(), shown)) < 1e-5


def test_an_uploaded_image_is_projected_then_edited(browser, server, tmp_path):
    from selenium.webdriver.common.keys import Keys

    target = tmp_path / "target.png"
    target.write_bytes(urllib.request.urlopen(f"{server}/api/image?seed=11", timeout=30).read())
    browser.open(server)
    browser.driver.find_element("id", "project-file").send_keys(str(target))
    browser.wait(lambda d: d.find_element("id", "project-status").text.startswith(("done", "could not")), 60,
                 "the projection never finished")
    assert browser.driver.find_element("id", "project-status").text.startswith("done"), \
        browser.driver.find_element("id", "project-status").text
    browser.wait(lambda d: loaded(browser, "#view-image") == 1, 30)
    assert browser.js("return S.current.z.length") == browser.js("return S.model.z_dim")
    assert browser.driver.find_element("id", "view-caption").text.startswith("latent z")
    before = view_pixels(browser)
    browser.driver.find_elements("css selector", ".direction-slider")[0].send_keys(Keys.END)
    browser.wait(lambda d: view_pixels(browser) != before, 30, "the projected image did not take the edit")


def test_pasted_recipe_reproduces_the_image(browser, server):
    browser.open(server)
    box = browser.driver.find_element("id", "reproduce-json")
    box.send_keys('{"seed": 7, "truncation": 0.123}')  # off the slider's steps: drawn exactly as given
    browser.driver.find_element("id", "reproduce-go").click()
    browser.wait(lambda d: "seed 7" in d.find_element("id", "view-caption").text, 30)
    browser.wait(lambda d: loaded(browser, "#view-image") == 1, 30)
    browser.wait(lambda d: browser.js("return S.renderSeq + '' === document.querySelector('#view-image')"
                                      ".dataset.seq"), 30)
    shown, direct = browser.js_async(BYTES, browser.driver.find_element("id", "view-image").get_attribute("src"),
                                     "/api/image?seed=7&truncation=0.123", {})
    assert shown == direct
    assert browser.driver.find_element("id", "truncation-value").text == "0.12"


def test_dropped_png_reproduces_the_image_exactly(browser, server):
    browser.open(server)
    # A PNG the studio wrote (an edit included), dropped onto the page as a file.
    name = browser.js("return S.directions[0].name")
    url = f"/api/image?seed=5&truncation=0.7&edits={name}:1.25"
    browser.js_async("""
        fetch(arguments[0]).then(r => r.blob()).then(blob => {
          const data = new DataTransfer();
          data.items.add(new File([blob], 'saved.png', {type: 'image/png'}));
          document.body.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
          done(true);
        });""", url)
    browser.wait(lambda d: "seed 5" in d.find_element("id", "view-caption").text, 30, "the drop was not reproduced")
    browser.wait(lambda d: loaded(browser, "#view-image") == 1 and browser.js(
        "return S.renderSeq + '' === document.querySelector('#view-image').dataset.seq"), 30)
    shown, direct = browser.js_async(BYTES, browser.driver.find_element("id", "view-image").get_attribute("src"), url, {})
    assert shown == direct
    slider = browser.driver.find_element("css selector", f'.direction-slider[data-name="{name}"]')
    assert float(slider.get_attribute("value")) == 1.25
    assert browser.driver.find_element("id", "slider-truncation").get_attribute("value") == "0.7"


def test_picked_images_interpolate_and_mix(browser, server):
    browser.open(server)
    picks = browser.driver.find_elements("css selector", "#gallery .tile .mark-pick")
    assert browser.driver.find_element("id", "interp-go").get_attribute("disabled")
    picks[0].click()
    picks[5].click()
    browser.driver.find_element("id", "interp-go").click()
    browser.wait(lambda d: loaded(browser, "#interp-strip") == 1, 30, "no interpolation strip")
    width, height = browser.js("const i = document.querySelector('#interp-strip');"
                               "return [i.naturalWidth, i.naturalHeight]")
    assert width > 7 * height  # 8 frames side by side
    browser.wait(lambda d: d.find_element("id", "interp-gif").get_attribute("href").startswith("blob:"), 30, "no GIF")
    browser.driver.find_element("id", "mix-go").click()
    browser.wait(lambda d: loaded(browser, "#mix-children .tile img") == 6, 30, "the children did not all decode")


def test_pages_left_behind_release_their_event_streams(browser, server):
    # A browser opens at most six connections to one host: a page left behind (kept for "back") or a hidden tab
    # that kept its live event stream would leave the next pages none. The server counts its open streams.
    from gankit.studio import live

    # Streams other tests' clients may still hold in this process; the last page's stream may still be closing
    # (the server sees a client gone at its next look, every POLL_S), so count once the number stays put.
    browser.driver.get("about:blank")
    others = settled(lambda: live._streams[0], quiet_s=4 * live.POLL_S)
    open_streams = lambda d: live._streams[0] - others  # noqa: E731
    for _ in range(3):
        browser.open(server)
        browser.wait(lambda d: open_streams(d) == 1, 15, "the page opened no event stream")
        browser.driver.get("about:blank")
        browser.wait(lambda d: open_streams(d) == 0, 15, "a page left behind kept its event stream")
    browser.open(server)
    browser.wait(lambda d: open_streams(d) == 1, 15, "the page opened no event stream")
    browser.js("Object.defineProperty(document, 'hidden', {value: true, configurable: true});"
               "document.dispatchEvent(new Event('visibilitychange'))")
    browser.wait(lambda d: open_streams(d) == 0, 15, "a hidden page kept its event stream")
    browser.js("Object.defineProperty(document, 'hidden', {value: false, configurable: true});"
               "document.dispatchEvent(new Event('visibilitychange'))")
    browser.wait(lambda d: open_streams(d) == 1, 15, "the page shown again did not reopen its event stream")


def test_conditional_model_offers_its_classes(browser, cond_live_server):
    browser.open(cond_live_server)
    assert browser.driver.find_element("id", "class-row").is_displayed()
    names = browser.js("return S.model.class_names")
    options = browser.driver.find_elements("css selector", "#class-picker option")
    assert len(options) == len(names) + 1 == 11
    captions = [c.text for c in browser.driver.find_elements("css selector", "#gallery .tile .caption")]
    assert names[0] in captions[0] and names[1] in captions[1]  # the gallery cycles classes like `gankit sample`
    from selenium.webdriver.support.ui import Select

    Select(browser.driver.find_element("id", "class-picker")).select_by_value("3")
    browser.wait(lambda d: all(names[3] in c.text for c in d.find_elements("css selector", "#gallery .tile .caption")), 30)
    browser.wait(lambda d: loaded(browser, "#gallery .tile img") == 24, 30)


def test_live_view_shows_the_snapshot_a_training_run_writes(browser, watched_run):
    step = int(run_folder.CKPT_PATTERN.match(run_folder.latest(watched_run).name).group(1))
    log_every = json.loads((watched_run / "config.json").read_text()).get("log.every", 1)
    with serving(open_session(run=watched_run)) as url:
        browser.open(url)
        browser.driver.find_element("id", "tab-live").click()
        browser.wait(lambda d: loaded(browser, "#live-snapshot") == 1, 30, "no snapshot shown")
        first = int(browser.driver.find_element("id", "live-snapshot").get_attribute("data-nimg"))
        seen = browser.driver.find_element("id", "live-nimg").text
        lines = browser.js("return S.live.lines.length")
        assert lines > 0
        # A real `gankit train` continues the run in another process, writing stats lines, a snapshot grid and
        # a checkpoint into the folder the page is watching.
        env = {**os.environ, "OMP_NUM_THREADS": "1",
               "PYTHONPATH": os.pathsep.join([str(Path(gankit.__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
        command = [sys.executable, "-m", "gankit", "train", "--resume", "auto", "--out", str(watched_run),
                   "--steps", str(step + max(2, log_every)), "--device", "cpu"]
        train = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            browser.wait(lambda d: int(d.find_element("id", "live-snapshot").get_attribute("data-nimg") or 0) > first
                         or train.poll() not in (None, 0), 90, "the live view never showed the new snapshot")
        finally:
            _, err = train.communicate(timeout=120)
        assert train.returncode == 0, err
        browser.wait(lambda d: loaded(browser, "#live-snapshot") == 1, 30)
        browser.wait(lambda d: d.find_element("id", "live-nimg").text != seen, 30)
        browser.wait(lambda d: browser.js("return S.live.lines.length") > lines, 30, "no new stats lines drawn")
        legend = browser.driver.find_element("id", "live-legend").text  # the progress bar's names for losses
        assert "G_loss" in legend and "D_loss_fake" in legend and "D/fake" not in legend, legend
        # Sampling follows the newest checkpoint: the model's step and the gallery's images move on with it.
        newest = int(run_folder.CKPT_PATTERN.match(run_folder.latest(watched_run).name).group(1))
        assert newest > step
        browser.wait(lambda d: browser.js("return S.model.step") == newest, 30, "the studio kept the old checkpoint")
        browser.wait(lambda d: browser.js("return document.querySelector('#gallery .tile img').src").endswith(
            f"&v={browser.js('return S.model.version')}"), 30, "the gallery was not redrawn by the new model")
        browser.screenshot("studio-live")
        # A periodic evaluation's line (as `gankit train` logs one with eval.every_kimg set) shows in the metrics.
        last = run_folder.read_stats(watched_run)[-1]
        with open(run_folder.stats_path(watched_run), "a") as f:
            f.write(json.dumps({"step": last["step"], "kimg": last["kimg"], "Metrics/fid": 123.456}) + "\n")
        browser.wait(lambda d: "fid" in d.find_element("id", "live-metrics").text, 30, "the metric was not shown")
        assert "123.5" in browser.driver.find_element("id", "live-metrics").text
        assert browser.js("return document.location.href").rstrip("/") == url  # updated without a reload
