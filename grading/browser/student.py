"""What a student does in JupyterLab, done in headless Chromium through Playwright.

Debian's chromium is driven as it is installed (`CHROMIUM`): Playwright's own browser
downloads are never used. Every action goes through the page as a student's would (menus,
toolbar buttons, dialogs, the keyboard); what the browser saved is read back through the
server's contents API, which is what nbgrader and the instructor see.
"""
import os
import shutil
import tempfile
import time
from pathlib import Path

CHROMIUM = os.environ.get("KATA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# Headless, as root, offline: no sandbox (root), no GPU, nothing that phones home.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]
VIEWPORT = {"width": 1400, "height": 1000}
RUN_TIMEOUT = 60_000            # ms: Run All and Validate on two busy cores
UI_TIMEOUT = 30_000             # ms: a menu, a dialog, a page
RUN_ALL = "Restart Kernel and Run All Cells…"

# A cell prompt that says "queued or running": [*]
_BUSY = "() => [...document.querySelectorAll('.jp-InputPrompt')].some(e => e.textContent.includes('*'))"
_IDLE = ("() => ![...document.querySelectorAll('.jp-InputPrompt')].some(e => e.textContent.includes('*'))"
         " && !document.querySelector('.jp-Notebook-ExecutionIndicator[data-status=\"busy\"]')")


class BrowserError(Exception):
    """The browser could not start or the page did not do what was asked; says why."""


def launch(playwright, profile):
    """Debian's chromium, headless, with a new empty profile folder."""
    if not Path(CHROMIUM).exists():
        raise BrowserError(f"no chromium at {CHROMIUM}: `make install-instructor` installs "
                           "Debian's chromium (as root), or set KATA_CHROMIUM to a Chromium binary")
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=FLAGS, viewport=VIEWPORT,
        timeout=UI_TIMEOUT)


class Student:
    """One page of the student's JupyterLab; `shot(name)` keeps a screenshot in `shots`."""

    def __init__(self, page, lab, shots):
        self.page, self.lab, self.shots = page, lab, Path(shots)
        self.taken = []
        page.set_default_timeout(UI_TIMEOUT)

    # --- looking ---------------------------------------------------------------------------
    def shot(self, name):
        path = self.shots / f"{len(self.taken) + 1:02d}-{name}.png"
        self.page.screenshot(path=str(path))
        self.taken.append(path)
        return path

    def open_notebook(self, path):
        self.page.goto(self.lab.url(f"lab/tree/{path}?token={self.lab.token}"))
        self._wait_notebook()

    def reload_from_disk(self):
        """File > Reload Notebook from Disk (confirmed if asked), for a notebook written
        through the contents API without outputs: done when no cell shows a count."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text="File").first.click()
        self.page.locator(".lm-Menu-item", has_text="Reload Notebook from Disk").first.click()
        dialog = self.page.locator(".jp-Dialog .jp-mod-accept")
        try:
            dialog.click(timeout=1500)
        except Exception:           # noqa: BLE001 - not dirty: no question asked
            pass
        self.page.wait_for_function(
            "() => ![...document.querySelectorAll('.jp-InputPrompt')].some(e => /\\d/.test(e.textContent))",
            timeout=RUN_TIMEOUT)

    def _wait_notebook(self):
        self.page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=RUN_TIMEOUT)
        # The kernel is ready when the status bar says "<kernel> | Idle" (the toolbar's
        # indicator says idle before the kernel is connected; restarting it then can hang).
        self.page.locator(".jp-StatusBar-TextItem", has_text="| Idle").first.wait_for(
            timeout=RUN_TIMEOUT)

    def menu_items(self, menu):
        """The labels of a main-menu menu (opened, read, closed)."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text=menu).first.click()
        items = self.page.locator(".lm-Menu .lm-Menu-itemLabel").all_inner_texts()
        self.page.keyboard.press("Escape")
        return [i.strip() for i in items if i.strip()]

    def open_assignments(self):
        """Nbgrader > Assignment List: nbgrader's Assignments panel in a new tab; the text of
        its "Downloaded assignments" list once it has loaded."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click()
        self.page.locator(".lm-Menu-item", has_text="Assignment List").first.click()
        fetched = self.page.locator("#fetched_assignments_list")
        fetched.wait_for()
        self.page.wait_for_function(
            "() => { const l = document.querySelector('#fetched_assignments_list_loading');"
            " return l && l.hidden; }")
        return fetched.inner_text()

    def close_tab(self, label):
        tab = self.page.locator(".lm-DockPanel .lm-TabBar-tab", has_text=label).first
        tab.locator(".lm-TabBar-tabCloseIcon").click()
        tab.wait_for(state="detached")

    def scroll_to_output(self, words):
        """Scroll the first output area showing every word into view; its text, or None."""
        return self.page.evaluate("""words => {
            for (const el of document.querySelectorAll('.jp-Cell .jp-OutputArea')) {
                const text = el.innerText;
                if (words.every(w => text.includes(w))) { el.scrollIntoView({block: 'end'}); return text; }
            }
            return null; }""", words)

    def scroll_to_first_error(self):
        self.page.evaluate("""() => {
            const el = document.querySelector('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]');
            if (el) el.scrollIntoView({block: 'center'}); }""")

    # --- doing -----------------------------------------------------------------------------
    def run_all(self):
        """Kernel > Restart Kernel and Run All Cells…, confirmed; returns when every cell
        that was queued has run (or Run All stopped at an error). Seconds taken."""
        started = time.monotonic()
        self.page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").first.click()
        self.page.locator(".lm-Menu-item", has_text=RUN_ALL).first.click()
        self.page.locator(".jp-Dialog .jp-mod-accept").click()
        try:
            self.page.wait_for_function(_BUSY, timeout=UI_TIMEOUT, polling=50)
        except Exception:           # noqa: BLE001 - playwright's TimeoutError
            raise BrowserError(f"{RUN_ALL!r} started no cell within {UI_TIMEOUT // 1000} s") from None
        self.page.wait_for_function(_IDLE, timeout=RUN_TIMEOUT, polling=100)
        return time.monotonic() - started

    def save(self):
        self.page.keyboard.press("Control+s")
        self.page.wait_for_function(
            "() => !document.querySelector('.jp-NotebookPanel .jp-mod-dirty, .lm-TabBar-tab.jp-mod-dirty')")
        time.sleep(0.3)             # the contents API answers once the write is done

    def validate(self):
        """nbgrader's Validate toolbar button (it saves first); (dialog text, seconds). The
        dialog stays open for a screenshot: `close_dialog()` closes it."""
        started = time.monotonic()
        self.page.locator(".jp-NotebookPanel-toolbar .validate-button").first.click()
        dialog = self.page.locator(".jp-Dialog", has_text="Validation Results")
        dialog.wait_for(timeout=RUN_TIMEOUT)
        return dialog.inner_text(), time.monotonic() - started

    def close_dialog(self):
        self.page.locator(".jp-Dialog .jp-mod-accept").click()
        self.page.locator(".jp-Dialog").wait_for(state="detached")

    def type_into_cell(self, index, text):
        """Click into the editor of cell `index` (among all cells) and type `text`; (the
        editor's text afterwards, the notebook's mode while typing: edit or command)."""
        cell = self.page.locator(".jp-Notebook .jp-Cell").nth(index)
        cell.scroll_into_view_if_needed()
        editor = cell.locator(".cm-content")
        editor.click()
        mode = self.page.evaluate("() => document.querySelector('.jp-Notebook')"
                                  ".classList.contains('jp-mod-editMode') ? 'edit' : 'command'")
        self.page.keyboard.type(text)
        return editor.inner_text(), mode


def notebook_report(nb):
    """What a saved notebook shows, cell by cell: [{index, kind, executed, text, errors,
    stderr}] for code cells; `text` is every output's text joined."""
    cells = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        texts, errors, stderr = [], [], []
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "stream":
                text = _text(out.get("text", ""))
                if out.get("name") == "stderr":
                    stderr.append(text)
                texts.append(text)
            elif kind == "error":
                line = f"{out.get('ename')}: {out.get('evalue')}"
                errors.append(line)
                texts.append(line)
            else:
                texts.append(_text(out.get("data", {}).get("text/plain", "")))
        cells.append({"index": index, "executed": cell.get("execution_count") is not None,
                      "source": _text(cell.get("source", "")), "text": "\n".join(texts),
                      "errors": errors, "stderr": stderr,
                      "metadata": cell.get("metadata", {})})
    return cells


def _text(value):
    return "".join(value) if isinstance(value, list) else str(value)


def new_profile(work):
    return Path(tempfile.mkdtemp(prefix="chromium-profile-", dir=work))
