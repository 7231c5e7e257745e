"""What the console's browser tests need besides Python: Debian's Chromium (Playwright
drives it as the system browser; nothing downloads a browser) and axe-core, the
accessibility checker, fetched from the npm registry into .cache once and injected into the
page by the tests (never loaded from a CDN)."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from pathlib import Path

from .template import ROOT

AXE_PACKAGE = "axe-core@4.10.3"
# Always this worktree's own cache: the shared engine cache may be read-only.
AXE_CACHE = ROOT / ".cache" / "axe-core"
CHROMIUM_INSTALL_HINT = (
    "the console's browser tests need Debian's Chromium: apt-get install -y chromium "
    "(make test installs it as root, with Java and npm)"
)
# Flags for a headless Chromium on a machine whose only network is loopback.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class BrowserUnavailable(RuntimeError):
    pass


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise BrowserUnavailable(CHROMIUM_INSTALL_HINT)


def axe_core_script() -> Path:
    """axe.min.js of the npm package, fetched into .cache on first use."""
    script = AXE_CACHE / "package" / "axe.min.js"
    if script.exists():
        return script
    npm = shutil.which("npm")
    if npm is None:
        raise BrowserUnavailable("npm was not found: it fetches axe-core for the browser tests")
    AXE_CACHE.mkdir(parents=True, exist_ok=True)
    packed = subprocess.run(
        [npm, "pack", AXE_PACKAGE, "--silent", "--pack-destination", str(AXE_CACHE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if packed.returncode != 0:
        raise BrowserUnavailable(f"npm pack {AXE_PACKAGE} failed: {packed.stderr.strip()}")
    tarball = AXE_CACHE / packed.stdout.strip().splitlines()[-1]
    with tarfile.open(tarball) as archive:
        archive.extractall(AXE_CACHE, filter="data")
    tarball.unlink()
    if not script.exists():
        raise BrowserUnavailable(f"no axe.min.js inside {AXE_PACKAGE}")
    return script
