"""Take the README's screenshot of a lesson page with headless Chromium (not a test; run it by hand).

    .venv/bin/python tests/app_screenshot.py [--page kratom] [--style classroom] [--out docs/app_kratom.png]

Starts ``pharmsim app`` on a free port, opens the page in Debian's Chromium through Playwright's Python
package (``executable_path='/usr/bin/chromium'``), saves a screenshot of the top of the page and stops the
server with SIGINT. pharmsim is for teaching and research only, not dosing advice.
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--page", default="kratom")
    ap.add_argument("--out", default=str(ROOT / "docs" / "app_kratom.png"))
    ap.add_argument("--style", default="classroom")
    ap.add_argument("--width", type=int, default=1500)
    ap.add_argument("--height", type=int, default=1250)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.NamedTemporaryFile("w+", suffix=".out") as out:
        command = [sys.executable, "-m", "pharmsim", "app", "--port", "0", "--style", args.style]
        proc = subprocess.Popen(command, stdout=out, stdin=subprocess.DEVNULL, cwd=ROOT)
        try:
            url = None
            for _ in range(600):
                m = re.search(r"at (http://\S+/)", Path(out.name).read_text())
                if m:
                    url = m.group(1)
                    break
                if proc.poll() is not None:
                    break
                time.sleep(0.1)
            if url is None:
                raise SystemExit("pharmsim app did not start")
            with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
                ctx = pw.chromium.launch_persistent_context(profile, executable_path="/usr/bin/chromium",
                                                            headless=True, args=ARGS,
                                                            viewport={"width": args.width, "height": args.height})
                page = ctx.new_page()
                time.sleep(5)               # the server computes every lesson's first view in the background
                page.goto(url + args.page)
                page.locator('[data-testid="lesson-data"]').wait_for(state="attached", timeout=60_000)
                page.wait_for_timeout(1500)
                Path(args.out).parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=args.out)
                ctx.close()
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
