"""The studio page in a real headless Chromium: restyle a file through the page, see the figure,
hear the "After" audio, download the MIDI; a non-MIDI upload shows a one-line error.

Needs Debian's ``chromium`` and ``chromium-driver`` (chromedriver) (or CHROME_BIN / CHROMEDRIVER pointing at them).
Without them the test is skipped locally, but fails under CI (env var CI set): CI must run it.
Selenium Manager is never used (the driver path is given), so nothing is downloaded.
MIDISTYLE_SCREENSHOT=PATH saves a screenshot of the page after the restyle.
"""
from __future__ import annotations

import io
import os
import shutil
import time

import mido
import pytest
import requests

from conftest import REPO

from studio_helper import Studio, assert_clean_shutdown, sounding_note_ons

EXAMPLE = REPO / "examples" / "anthropology.mid"


def _missing(why: str):
    if os.environ.get("CI"):
        pytest.fail(f"the studio browser test must run in CI, but {why}: install chromium and chromium-driver "
                    "(Debian) and the test extra (selenium)")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed")
    chrome = os.environ.get("CHROME_BIN") or next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    driver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    if not chrome or not driver:
        _missing(f"no {'chromium' if not chrome else 'chromedriver'} found on PATH")
    os.environ.setdefault("SE_OFFLINE", "true")           # belt and braces: Selenium Manager never fetches
    options = webdriver.ChromeOptions()
    options.binary_location = chrome
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--autoplay-policy=no-user-gesture-required", "--window-size=1200,1400", "--mute-audio"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Chromium's own scratch folders go to a pytest folder, not /tmp
    env = {**os.environ, "TMPDIR": str(tmp_path_factory.mktemp("chromium-tmp"))}
    drv = webdriver.Chrome(service=Service(executable_path=driver, env=env), options=options)
    drv.set_page_load_timeout(30)
    yield drv
    drv.quit()


@pytest.fixture(scope="module")
def page_studio(tmp_path_factory):
    s = Studio(tmp_path_factory.mktemp("browser-studio"))
    yield s
    s.stop()
    assert_clean_shutdown(s)


def wait_for(driver, script: str, timeout: float, what: str, *args):
    """Poll ``execute_script(script)`` until it returns something truthy; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        value = driver.execute_script(script, *args)
        if value:
            return value
        if time.monotonic() > deadline:
            state = driver.execute_script(
                "return {message: document.querySelector('#message').textContent,"
                " cls: document.querySelector('#message').className,"
                " render: document.querySelector('#render-text').textContent}")
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}; page: {state}")
        time.sleep(0.1)


def js_errors(driver) -> list:
    return [e for e in driver.get_log("browser")
            if e.get("level") == "SEVERE" and e.get("source") == "javascript"]


def test_restyle_through_the_page(browser, page_studio):
    d = browser
    d.get(page_studio.url + "/")
    assert d.title == "midistyle studio"
    styles = wait_for(d, "const o = [...document.querySelectorAll('#velocity select[name=to] option')]"
                         ".map(x => x.value); return o.length ? o : null;", 20, "the style menu from /api/models")
    assert {"classical", "jazz"} <= set(styles), styles
    assert "found" in d.find_element("id", "model-count").text

    from selenium.webdriver.support.ui import Select

    Select(d.find_element("css selector", "#velocity select[name=to]")).select_by_value("jazz")
    d.execute_script("const s = document.querySelector('#velocity input[name=strength]');"
                     "s.value = '0.5'; s.dispatchEvent(new Event('input'));")
    assert d.find_element("css selector", "#velocity output[name=strength-value]").text == "0.50"
    d.find_element("id", "velocity-file").send_keys(str(EXAMPLE.resolve()))
    assert d.find_element("css selector", "#velocity .drop-text").text == "anthropology.mid"
    d.find_element("css selector", "#velocity button.go").click()

    wait_for(d, "return !document.querySelector('#result').hidden", 60, "the result section")
    assert d.find_element("id", "result").is_displayed()
    assert d.find_element("id", "message").text == "done"
    assert d.find_element("id", "result-title").text == "anthropology.mid \u2192 jazz"
    figures = d.find_element("id", "figures").text
    assert "1503 notes" in figures and "strength 0.5" in figures, figures
    width = wait_for(d, "const i = document.querySelector('#figure');"
                        "return i.complete && i.naturalWidth > 0 ? i.naturalWidth : 0;", 30, "the figure to load")
    assert width > 500
    # the audio renders run in the background: the "After" player gets its WAV and can play it
    wait_for(d, "const a = document.querySelector('#audio-result');"
                "return a.getAttribute('src') && a.readyState >= 1 && a.duration > 0;", 90, "the After audio")
    duration = d.execute_script("return document.querySelector('#audio-result').duration")
    assert 100 < duration < 200, duration                          # the 2.5 min piece (plus the release)
    wait_for(d, "const a = document.querySelector('#audio-original');"
                "return a.getAttribute('src') && a.readyState >= 1 && a.duration > 0;", 30, "the Before audio")
    wait_for(d, "return !document.querySelector('#download-wav').hidden", 30, "the WAV download")
    wait_for(d, "return document.querySelector('#render-progress').hidden", 30, "the progress bar to go")
    assert d.find_element("id", "message").get_attribute("class") == ""
    if os.environ.get("MIDISTYLE_SCREENSHOT"):
        d.execute_script("window.scrollTo(0, 0)")
        assert d.save_screenshot(os.environ["MIDISTYLE_SCREENSHOT"])
    assert not js_errors(d), js_errors(d)

    link = d.find_element("id", "download-midi")
    assert link.get_attribute("download") == "anthropology.jazz.mid"
    r = requests.get(link.get_attribute("href"), timeout=30)
    assert r.status_code == 200 and r.content[:4] == b"MThd", (r.status_code, r.content[:20])
    assert r.headers["content-type"].startswith("audio/midi")
    assert sounding_note_ons(r.content) == sounding_note_ons(EXAMPLE.read_bytes())
    vel_in = [m.velocity for tr in mido.MidiFile(EXAMPLE).tracks for m in tr if m.type == "note_on" and m.velocity]
    vel_out = [m.velocity for tr in mido.MidiFile(file=io.BytesIO(r.content)).tracks for m in tr
               if m.type == "note_on" and m.velocity]
    assert vel_out != vel_in                                        # restyled, not a copy
    wav = requests.get(d.find_element("id", "download-wav").get_attribute("href"), timeout=30)
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF"


def test_non_midi_upload_shows_one_line_error(browser, page_studio, tmp_path):
    d = browser
    d.get(page_studio.url + "/")
    wait_for(d, "return document.querySelectorAll('#velocity select[name=to] option').length", 20, "the style menu")
    bad = tmp_path / "x.mid"
    bad.write_text("this is a text file, not MIDI\n" * 5)
    d.find_element("id", "velocity-file").send_keys(str(bad))
    d.find_element("css selector", "#velocity button.go").click()
    wait_for(d, "return document.querySelector('#message').className === 'error'", 30, "the error message")
    text = d.find_element("id", "message").text
    assert text.strip() and "\n" not in text and "Traceback" not in text, text
    assert text.startswith("x.mid:") and "MIDI" in text, text
    assert not d.find_element("id", "result").is_displayed()
    assert d.find_element("css selector", "#velocity button.go").is_enabled()       # ready for the next try
    # no file picked: the page says so itself
    d.get(page_studio.url + "/")
    wait_for(d, "return document.querySelectorAll('#velocity select[name=to] option').length", 20, "the style menu")
    d.find_element("css selector", "#velocity button.go").click()
    wait_for(d, "return document.querySelector('#message').className === 'error'", 10, "the no-file message")
    assert d.find_element("id", "message").text == "pick or drop a file first"


def test_perform_a_score_through_the_page(browser, page_studio, tmp_path):
    """The Perform tab: a flat score on a beat grid comes back with a drawn tempo map and a figure
    with tempo strips; the downloaded MIDI keeps every note's tick."""
    from test_tempo import grid_score

    d = browser
    score = grid_score(tmp_path / "score.mid", beats=48)
    d.get(page_studio.url + "/")
    d.find_element("id", "tab-perform").click()
    assert d.find_element("id", "perform").is_displayed() and not d.find_element("id", "velocity").is_displayed()
    wait_for(d, "return document.querySelectorAll('#perform select[name=to] option').length", 20, "the style menu")
    from selenium.webdriver.support.ui import Select

    Select(d.find_element("css selector", "#perform select[name=to]")).select_by_value("classical")
    Select(d.find_element("css selector", "#perform select[name=level]")).select_by_visible_text("mf")
    d.find_element("id", "perform-file").send_keys(str(score))
    d.find_element("css selector", "#perform button.go").click()
    wait_for(d, "return !document.querySelector('#result').hidden", 60, "the result section")
    figures = d.find_element("id", "figures").text
    assert "read as a score" in figures and "tempo drawn over 48 beats" in figures, figures
    link = d.find_element("id", "download-midi")
    assert link.get_attribute("download") == "score.performed-classical.mid"
    r = requests.get(link.get_attribute("href"), timeout=30)
    got = mido.MidiFile(file=io.BytesIO(r.content))
    tempi = [m.tempo for m in got.tracks[0] if m.type == "set_tempo"]
    assert len(set(tempi)) > 5
    vel = [m.velocity for tr in got.tracks for m in tr if m.type == "note_on" and m.velocity]
    assert abs(sum(vel) / len(vel) - 80) < 2                        # level mf
    wait_for(d, "const a = document.querySelector('#audio-result');"
                "return a.getAttribute('src') && a.readyState >= 1 && a.duration > 0;", 60, "the After audio")
    assert not js_errors(d), js_errors(d)
