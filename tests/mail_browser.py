"""Open an email as a mail client would and look at it in headless Chromium.

A mail client shows the HTML part with every ``cid:`` reference resolved to the MIME part of
that Content-ID. ``open_as_mail_client`` does the same with files: each part is written beside
the page and the references point at them. Chromium then renders the page to a PNG
(``screenshot``) and reports, for every image, whether it decoded and where it sits on the page
(``images_on_page``: a script run in a copy of the page, since the email itself has none).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from PIL import Image, ImageChops, ImageStat

WINDOW = (1000, 3000)
_CID = re.compile(r"""(["'(])cid:([^"')\s>]+)""", re.IGNORECASE)
_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
]
# Run in a copy of the page after it loaded: each image's decoded size and its box on the page.
_PROBE = """<script>
window.addEventListener("load", () => {
  const found = [...document.images].map((image) => {
    const box = image.getBoundingClientRect();
    return {src: image.getAttribute("src"), natural: [image.naturalWidth, image.naturalHeight],
            box: [box.left + scrollX, box.top + scrollY, box.width, box.height]};
  });
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify(found);
  document.body.appendChild(out);
});
</script>"""


@dataclass(frozen=True)
class PageImage:
    src: str
    natural: tuple[int, int]  # (0, 0) when the browser could not decode it
    box: tuple[int, int, int, int]  # left, top, width, height in CSS pixels


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def open_as_mail_client(message: EmailMessage, directory: Path) -> tuple[Path, dict[str, Path]]:
    """The HTML part as a page whose ``cid:`` images are the message's parts written to files;
    returns the page and the files by Content-ID."""
    directory.mkdir(parents=True, exist_ok=True)
    parts: dict[str, Path] = {}
    for index, part in enumerate(message.walk()):
        content_id = part.get("Content-ID")
        if not content_id or part.is_multipart():
            continue
        cid = str(content_id).strip().strip("<>")
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes), f"part {cid} has no body"
        path = directory / f"part-{index}.{part.get_content_subtype()}"
        path.write_bytes(payload)
        parts[cid] = path
    html_part = message.get_body(("html",))
    assert html_part is not None, "the message has no HTML part"
    html = str(html_part.get_content())
    unresolved = {cid for _, cid in _CID.findall(html)} - set(parts)
    assert not unresolved, f"the HTML refers to parts the message lacks: {sorted(unresolved)}"
    page = directory / "message.html"
    page.write_text(_CID.sub(lambda m: m.group(1) + parts[m.group(2)].name, html), encoding="utf-8")
    return page, parts


def _run(browser: str, page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [browser, *_FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def screenshot(browser: str, page: Path, png: Path) -> Path:
    result = _run(browser, page, page.parent / "profile-shot", f"--screenshot={png}")
    assert png.is_file(), f"Chromium wrote no screenshot: {result.stderr[-2000:]}"
    return png


def images_on_page(browser: str, page: Path) -> list[PageImage]:
    probed = page.with_name("probe.html")
    probed.write_text(page.read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    # A virtual-time budget lets the page load (and the probe run) before the DOM is printed.
    result = _run(browser, probed, page.parent / "profile-dom", "--virtual-time-budget=10000", "--dump-dom")
    found = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.DOTALL)
    assert found, f"the probe did not run: {result.stderr[-2000:]}"
    text = found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    return [
        PageImage(
            item["src"],
            (int(item["natural"][0]), int(item["natural"][1])),
            (round(item["box"][0]), round(item["box"][1]), round(item["box"][2]), round(item["box"][3])),
        )
        for item in json.loads(text)
    ]


def _on_white(path: Path) -> Image.Image:
    image = Image.open(path).convert("RGBA")
    background = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, image).convert("RGB")


def assert_shows_its_charts(browser: str, message: EmailMessage, directory: Path, charts: list[str]) -> Path:
    """Render the message as a mail client would; assert the page is not blank and that each
    chart (by Content-ID) decoded in the browser and is what the screenshot shows where it sits.
    Returns the screenshot."""
    page, parts = open_as_mail_client(message, directory)
    png = screenshot(browser, page, directory / "message.png")
    with Image.open(png) as shot:
        shot.load()  # decodes the whole PNG
        assert shot.size == WINDOW
        rendered = shot.convert("RGB")
    assert max(ImageStat.Stat(rendered).stddev) > 10, "the page rendered blank"
    on_page = {Path(image.src).name: image for image in images_on_page(browser, page)}
    for cid in charts:
        image = on_page[parts[cid].name]
        with Image.open(parts[cid]) as chart:
            assert image.natural == chart.size, f"{cid}: the browser did not decode the chart"
        left, top, width, height = image.box
        assert width >= 200 and height >= 40 and top + height <= WINDOW[1], f"{cid}: not on the page: {image.box}"
        shown = rendered.crop((left, top, left + width, top + height))
        assert max(ImageStat.Stat(shown).stddev) > 10, f"{cid}: the chart's place on the page is empty"
        expected = _on_white(parts[cid]).resize((width, height), Image.Resampling.LANCZOS)
        difference = ImageStat.Stat(ImageChops.difference(shown, expected)).mean
        assert max(difference) < 12, f"{cid}: the page shows something else than the chart there ({difference})"
    return png
