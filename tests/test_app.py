"""The classroom web app (``pharmsim app``), driven in a real headless Chromium.

The app runs in a subprocess on a free port, exactly as a teacher starts it. Playwright (its Python package,
pointed at Debian's ``/usr/bin/chromium``: its own browser download does not work here) opens every page and
checks that it loads with no console error and shows the caveat; moves a slider with the keyboard and checks
that the numbers the page plots (a hidden ``<pre data-testid="lesson-data">`` holding the figure's table as
JSON) become what pharmsim's API computes for the same inputs, computed here independently; and clicks the
download buttons: the CSV equals the API's table, the PNG is the image on the page. The command's help, its
one-line errors (exit 2) and a clean stop on SIGINT are checked on the command itself.

Chromium comes from Debian's ``chromium`` package (``.ci/run`` installs it); when it is missing the tests try
to install it (as root, with apt-get) and skip with the reason only when that is impossible.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pharmsim as ps

ROOT = Path(__file__).resolve().parents[1]
LAUNCH_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage"]
URL_LINE = re.compile(r"serving the lessons \((\w+) style\) at (http://127\.0\.0\.1:(\d+)/)")
RTOL = 1e-12


# ------------------------------------------------------------------------------------------------ the app process
def _start_app(*args: str, timeout: float = 90.0):
    """Start ``pharmsim app --port 0 ...``; return (process, url, stdout path, stderr path)."""
    out = tempfile.NamedTemporaryFile("w+", suffix=".out", delete=False)
    err = tempfile.NamedTemporaryFile("w+", suffix=".err", delete=False)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "pharmsim", "app", "--port", "0", *args], stdout=out, stderr=err,
                            stdin=subprocess.DEVNULL, cwd=ROOT, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = Path(out.name).read_text()
        m = URL_LINE.search(text)
        if m:
            return proc, m.group(2), Path(out.name), Path(err.name)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    pytest.fail(f"pharmsim app did not print its address; stdout: {Path(out.name).read_text()!r}; "
                f"stderr: {Path(err.name).read_text()[-3000:]!r}")


def _stop(proc, timeout: float = 30.0) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("pharmsim app did not stop within 30 s of SIGINT")
    return proc.returncode


@pytest.fixture(scope="module")
def app_url():
    pytest.importorskip("panel", reason="the app extra is not installed: pip install -e '.[app]'")
    proc, url, out, err = _start_app()
    yield url
    rc = _stop(proc)
    assert rc in (0, 130), err.read_text()[-3000:]
    assert "Traceback" not in err.read_text(), err.read_text()[-3000:]


# ------------------------------------------------------------------------------------------------ the browser
def _chromium() -> str:
    """Debian's Chromium; installed (as root, once, under a lock) when missing; skip only when impossible."""
    found = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if found:
        return found
    reason = "Chromium is not installed (Debian package 'chromium'; .ci/run installs it)"
    if os.environ.get("PHARMSIM_NO_BROWSER_INSTALL") or not shutil.which("apt-get") or os.geteuid() != 0:
        pytest.skip(f"{reason}, and this machine cannot install it here (needs root and apt-get)")
    import fcntl

    with open(os.path.join(tempfile.gettempdir(), "pharmsim-chromium-install.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = shutil.which("chromium")
        if not found:
            r = subprocess.run("apt-get update -qq && apt-get install -y -qq chromium", shell=True, text=True,
                               capture_output=True, timeout=1200)
            found = shutil.which("chromium")
            if not found:
                pytest.skip(f"{reason}, and installing it failed: {(r.stderr or r.stdout)[-500:]}")
    return found


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright is not installed: pip install -e '.[test]'")
    executable = _chromium()
    with tempfile.TemporaryDirectory() as profile, sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(profile, executable_path=executable, headless=True,
                                                        args=LAUNCH_ARGS, accept_downloads=True,
                                                        viewport={"width": 1600, "height": 1000})
        context.set_default_timeout(30_000)
        yield context
        context.close()


class Page:
    """One browser tab on one lesson, with everything the console said."""

    def __init__(self, context, url: str):
        self.page = context.new_page()
        self.messages: list[tuple[str, str]] = []
        self.failed: list[str] = []
        self.latencies: list[float] = []   # seconds from a key press to the page's new numbers
        self.page.on("console", lambda m: self.messages.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.messages.append(("pageerror", str(e))))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.page.goto(url)
        self.page.locator('[data-testid="disclaimer-bottom"]').wait_for(state="attached")   # the page is drawn

    def data(self, serial: int | None = None) -> dict:
        sel = '[data-testid="lesson-data"]' + (f'[data-serial="{serial}"]' if serial else "")
        loc = self.page.locator(sel)
        loc.wait_for(state="attached")
        return json.loads(loc.text_content())

    def press(self, widget: str, key: str = "ArrowRight") -> dict:
        """Move the slider ``widget`` one step with the keyboard; return the page's new data."""
        before = self.data()["serial"]
        handle = self.page.locator(f".ps-{widget} .noUi-handle")
        handle.focus()
        t0 = time.perf_counter()
        handle.press(key)
        data = self.data(before + 1)
        self.latencies.append(time.perf_counter() - t0)
        return data

    def click_label(self, widget: str, text: str) -> dict:
        before = self.data()["serial"]
        self.page.locator(f".ps-{widget} label", has_text=text).first.click()
        return self.data(before + 1)

    def download(self, label: str) -> tuple[str, bytes]:
        with self.page.expect_download() as dl:
            self.page.get_by_role("button", name=label, exact=True).click()
        d = dl.value
        return d.suggested_filename, Path(d.path()).read_bytes()

    def figure_png(self) -> bytes:
        src = self.page.locator(".ps-figure img").get_attribute("src")
        assert src.startswith("data:image/png;base64,"), src[:60]
        return base64.b64decode(src.split(",", 1)[1])

    def check_clean(self) -> None:
        errors = [m for m in self.messages if m[0] in ("error", "pageerror")]
        assert not errors, errors
        assert not self.failed, self.failed
        # "well under a second" on a laptop; the bound here is loose, for a busy 2-core CI machine
        assert all(t < 5.0 for t in self.latencies), self.latencies
        self.page.close()


def _frame(data: dict, name: str) -> pd.DataFrame:
    t = data["tables"][name]
    return pd.DataFrame(t["rows"], columns=t["columns"])


def _merge(got: pd.DataFrame, want: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Rows of the page's table beside the API's, matched by their labels (times to 1e-9 h)."""
    got, want = got.assign(time_h=got["time_h"].round(9)), want.assign(time_h=want["time_h"].round(9))
    return got.merge(want, on=keys, suffixes=("", "_api"), validate="one_to_one")


def _close(actual, expected, what: str) -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=RTOL,
                               atol=1e-14, err_msg=what)


# ------------------------------------------------------------------------------------------------ the API, here
def _receptor_expected(table: pd.DataFrame, inputs: dict) -> np.ndarray:
    cat = ps.catalog()
    base = cat.endpoint(inputs["endpoint"])
    out = np.empty(len(table))
    for (quantity, ligand, q), idx in table.groupby(["quantity", "ligand", "receptors_left"]).groups.items():
        lig = cat.ligand(ligand, inputs["receptor"], affinity=inputs["affinity"], kinetic=False)
        C = table.loc[idx, "conc_nM"].to_numpy()
        if quantity == "occupancy":
            out[table.index.get_indexer(idx)] = ps.hill_occupancy(C, lig.K_nM)
        else:
            ep = ps.Endpoint(base.name, base.receptor, gain=inputs["gain"], Em=base.Em, n=base.n, receptor_fraction=q)
            out[table.index.get_indexer(idx)] = ps.endpoint_response(C[:, None], [lig], ep)
    return out


def _partial_ligands(inputs: dict):
    lib = ps.load_library()
    cat = ps.catalog(lib)
    resp = cat.endpoint("respiratory_depression")

    def at_mor(name):
        try:
            return cat.ligand(name, "MOR", kinetic=False)
        except ps.PharmsimError:   # no efficacy in the library: notebook 2's labelled illustration, tau = 1 there
            ki = cat.binding_affinity(name, "MOR")
            return ps.Ligand(name, float(ki.to("nM")), 1.0 / resp.gain, receptor="MOR")

    return [at_mor(inputs["full_agonist"]), at_mor(inputs["partial"]), at_mor(inputs["antagonist"])], cat


def _partial_expected(table: pd.DataFrame, inputs: dict) -> np.ndarray:
    ligs, cat = _partial_ligands(inputs)
    ep = cat.endpoint(inputs["endpoint"])
    conc = table[[f"{lig.name}_nM" for lig in ligs]].to_numpy(dtype=float)
    resp = ps.endpoint_response(conc, ligs, ep)
    ratio = ps.schild_dose_ratio(conc[:, 2], ligs[2].K_nM)
    return np.where(table["quantity"].to_numpy() == "dose_ratio", ratio, resp)


def _kratom_expected(inputs: dict) -> pd.DataFrame:
    dor = None if inputs["dor_efficacy"] == "default" else inputs["dor_efficacy"]
    lib = ps.load_library() if dor is None else ps.load_scenario("dor_sources").library
    t0, t1, dt = inputs["t_h"]
    t = np.arange(t0, t1 + dt / 2, dt)
    frames = []
    for arm in inputs["arms"]:
        if arm.startswith("kratom"):
            doses = ps.Product(inputs["form"], inputs["grams"]).doses(0.0, library=lib)
        else:
            doses = ps.dose("morphine", inputs["morphine_mg"], 0.0, route="iv", library=lib)
        model = ps.build_model(doses, binding="equilibrium", dor_efficacy=dor, library=lib)
        res = ps.simulate(model, doses, t, outputs=ps.Outputs(quantities=("plasma_conc", "occupancy", "response")))
        frames.append(res.tidy().assign(arm=arm))
    return pd.concat(frames, ignore_index=True)


def _population(inputs: dict, level: str):
    omega = {k: inputs["omega"] for k in inputs["omega_parameters"]}
    return ps.Population(inputs["n"], omega=omega, covariates=ps.Covariates(cyp3a4_inhibitor=level),
                         rng=inputs["seed"])


def _check_population(data: dict) -> None:
    inputs = data["inputs"]
    bands, final = _frame(data, "bands"), _frame(data, "titration")
    doses = ps.Product("leaf powder", inputs["grams"]).doses(0.0)
    model = ps.build_model(doses, receptors=("MOR",), binding="equilibrium")
    t = np.arange(0.0, 48.01, 0.5)
    protocol = ps.TitrationProtocol(start_dose=1.0, step=inputs["step_g"], ceiling=6.0, days_per_step=3, unit="g",
                                    target=0.15, thresholds={"respiratory_depression": inputs["threshold"]})
    for arm in inputs["arms"]:
        level = "none" if arm.startswith("no ") else inputs["cyp3a4"]
        pop = _population(inputs, level)
        res = ps.simulate(model, doses, t, population=pop, outputs=ps.Outputs(quantities=("plasma_conc", "response")))
        want = res.summary(lower=5.0, upper=95.0)
        got = bands[bands["arm"] == arm].reset_index(drop=True)
        assert len(got) == len(want), arm
        for a, b in (("median", "median"), ("p05", "p5"), ("p95", "p95"), ("time_h", "time_h")):
            _close(got[a], want[b], f"{arm}: {a}")
        assert list(got["quantity"]) == list(want["quantity"])
        sim = ps.model_simulator("leaf powder", population=pop, dose_times_in_day_h=(0.0, 8.0, 16.0),
                                 receptors=("MOR",), binding="equilibrium", step_h=1.0, max_step_h=1.0)
        expected = ps.titrate(protocol, sim, inputs["n"]).final
        mine = final[final["arm"] == arm].reset_index(drop=True)
        _close(mine["final_dose"], expected["final_dose"], f"{arm}: final doses")
        assert list(mine["reason"]) == list(expected["reason"]), arm


# ------------------------------------------------------------------------------------------------ pages
def test_home_page_loads_and_links_every_lesson(app_url, browser):
    tab = Page(browser, app_url)
    for slug in ("receptors", "partial-agonists", "kratom", "population"):
        assert tab.page.locator(f'[data-testid="lesson-link-{slug}"]').count() == 1
    assert ps.DISCLAIMER in tab.page.locator('[data-testid="disclaimer-top"]').text_content()
    tab.check_clean()


def test_receptors_page_slider_download_and_api(app_url, browser):
    tab = Page(browser, app_url + "receptors")
    data = tab.data()
    assert ps.DISCLAIMER in tab.page.locator('[data-testid="disclaimer-top"]').text_content()
    assert "Kruegel 2016" in tab.page.locator('[data-testid="sources"]').text_content()
    table = _frame(data, "curves")
    _close(table["value"], _receptor_expected(table, data["inputs"]), "receptors, first view")
    gain0 = data["inputs"]["gain"]
    assert gain0 == ps.catalog().endpoint("analgesia").gain              # the library's gain to start with

    data = tab.press("gain")                                             # more receptor reserve
    assert data["inputs"]["gain"] > gain0
    table = _frame(data, "curves")
    _close(table["value"], _receptor_expected(table, data["inputs"]), "receptors, after the gain slider")
    data = tab.press("receptors_left", "ArrowLeft")                      # Furchgott: remove receptors
    assert data["inputs"]["receptors_left"] == 0.5
    table = _frame(data, "curves")
    assert (table["receptors_left"] == 0.5).any() and (table["receptors_left"] == 1.0).any()
    _close(table["value"], _receptor_expected(table, data["inputs"]), "receptors, after depletion")

    name, csv = tab.download("Download the table: curves (CSV)")
    assert name == "pharmsim_receptors_curves.csv"
    got = pd.read_csv(io.BytesIO(csv))
    assert list(got.columns) == list(table.columns)
    _close(got["value"], _receptor_expected(got, data["inputs"]), "receptors CSV vs the API")
    name, png = tab.download("Download the figure (PNG)")
    assert name.endswith(".png") and png.startswith(b"\x89PNG") and png == tab.figure_png()
    tab.check_clean()


def test_partial_agonist_page_naloxone_slider_and_api(app_url, browser):
    tab = Page(browser, app_url + "partial-agonists")
    data = tab.data()
    inputs = data["inputs"]
    assert inputs["antagonist"] == "naloxone" and inputs["full_agonist"] != inputs["partial"]
    table = _frame(data, "curves")
    _close(table["value"], _partial_expected(table, inputs), "partial agonist, first view")
    try:
        ps.catalog().ligand(inputs["partial"], "MOR", kinetic=False)
    except ps.PharmsimError:       # no efficacy in the library: the page must say its value is an illustration
        assert "illustration" in tab.page.locator('[data-testid="sources"]').text_content()

    data = tab.press("naloxone_nM")
    assert data["inputs"]["naloxone_nM"] > inputs["naloxone_nM"]
    table = _frame(data, "curves")
    _close(table["value"], _partial_expected(table, data["inputs"]), "after the naloxone slider")
    shifted = table[(table["panel"] == "A") & table["curve"].str.contains("naloxone")]
    assert (shifted["naloxone_nM"] == data["inputs"]["naloxone_nM"]).all()
    _, csv = tab.download("Download the table: curves (CSV)")
    got = pd.read_csv(io.BytesIO(csv))
    _close(got["value"], _partial_expected(got, data["inputs"]), "partial agonist CSV vs the API")
    tab.check_clean()


def test_kratom_page_grams_slider_dor_choice_and_api(app_url, browser):
    tab = Page(browser, app_url + "kratom")
    data = tab.press("grams")                                            # 2 g -> 2.5 g
    inputs = data["inputs"]
    assert inputs["grams"] == 2.5 and inputs["dor_efficacy"] == "default"
    keys = ["arm", "subject", "time_h", "quantity", "compound", "receptor", "endpoint"]
    want = _kratom_expected(inputs)
    got = _frame(data, "time_course")
    merged = _merge(got, want, keys)
    assert len(merged) == len(want) == len(got)
    _close(merged["value"], merged["value_api"], "kratom time course vs the API")
    kratom = inputs["arms"][0]
    dor_signal = got[(got["endpoint"] == "DOR_signal") & (got["arm"] == kratom)]["value"]
    assert (dor_signal == 0).all()                                       # default: MG, 7-OH-MG DOR antagonists
    assert "competitive antagonist" in tab.page.locator('[data-testid="sources"]').text_content() or \
        "Kruegel 2016" in tab.page.locator('[data-testid="sources"]').text_content()

    data = tab.click_label("dor_efficacy", "what-if")                    # the DOR source is a visible choice
    inputs = data["inputs"]
    assert inputs["dor_efficacy"] != "default"
    got = _frame(data, "time_course")
    merged = _merge(got, _kratom_expected(inputs), keys)
    _close(merged["value"], merged["value_api"], "kratom time course, what-if DOR efficacy")
    assert got[(got["endpoint"] == "DOR_signal") & (got["arm"] == kratom)]["value"].max() > 0

    _, csv = tab.download("Download the table: time_course (CSV)")
    from_csv = pd.read_csv(io.BytesIO(csv), keep_default_na=False)
    merged = _merge(from_csv, _kratom_expected(inputs), keys)
    assert len(merged) == len(from_csv)
    _close(merged["value"], merged["value_api"], "kratom CSV vs the API")
    tab.check_clean()


def test_population_page_threshold_slider_and_api(app_url, browser):
    tab = Page(browser, app_url + "population")
    data = tab.data()
    assert data["inputs"]["cyp3a4"] == "strong" and len(data["inputs"]["arms"]) == 2
    data = tab.press("threshold")
    assert data["inputs"]["threshold"] > 0.045
    _check_population(data)
    _, csv = tab.download("Download the table: titration (CSV)")
    got = pd.read_csv(io.BytesIO(csv))
    assert list(got["final_dose"]) == list(_frame(data, "titration")["final_dose"])
    _, csv = tab.download("Download the table: bands (CSV)")
    got = pd.read_csv(io.BytesIO(csv), keep_default_na=False)
    _close(got["median"], _frame(data, "bands")["median"], "bands CSV vs the page")
    tab.check_clean()


# ------------------------------------------------------------------------------------------------ the command
def test_help_documents_host_port_style():
    r = subprocess.run([sys.executable, "-m", "pharmsim", "app", "--help"], capture_output=True, text=True,
                       cwd=ROOT, timeout=60)
    assert r.returncode == 0
    for word in ("--host", "--port", "--style", "classroom", "default", "--open", "127.0.0.1", "free port"):
        assert word in r.stdout, word


@pytest.mark.parametrize("args, words", [
    (["--port", "70000"], "--port"),
    (["--port", "abc"], "--port"),
    (["--style", "huge"], "--style"),
    (["--host", "no such host"], "--host"),
    (["--host", "256.0.0.1"], "--host"),
])
def test_bad_values_give_one_line_errors(args, words, capsys):
    from pharmsim.cli import main

    assert main(["app", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("pharmsim: error:") and words in err[0], err


def test_port_in_use_is_a_one_line_error():
    pytest.importorskip("panel")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "pharmsim", "app", "--port", str(port)], capture_output=True,
                           text=True, cwd=ROOT, timeout=90, stdin=subprocess.DEVNULL)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "already in use" in lines[0], r.stderr


def test_sigint_stops_the_server_cleanly():
    pytest.importorskip("panel")
    proc, url, out, err = _start_app("--style", "default")
    assert URL_LINE.search(out.read_text()).group(1) == "default"
    with contextlib.closing(socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1].strip("/"))), 5)):
        pass                                                             # it listens
    rc = _stop(proc)
    assert rc in (0, 130)
    assert "Traceback" not in err.read_text(), err.read_text()[-3000:]
    assert "stopped" in out.read_text()


# ------------------------------------------------------------------------------------------------ the lessons
def test_lessons_are_cached_by_input_and_show_their_sources():
    from pharmsim.app import lessons

    a = lessons.receptor_lesson(gain=5.0)
    assert lessons.receptor_lesson(gain=5.0) is a                       # a slider moved back costs nothing
    assert a.png.startswith(b"\x89PNG") and {"K (in use)", "gain of analgesia"} <= set(a.sources["quantity"])
    assert all(a.sources["source"].str.len() > 0)
    with pytest.raises(ps.PharmsimError, match="at least one ligand"):
        lessons.receptor_lesson(ligands=())
