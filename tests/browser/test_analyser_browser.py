"""The norm-log analyser in a real browser (headless Chromium, the built site, Pyodide).

It must read every kind of log file that real tools write (tests/fixtures/normlogs/) and show
what CPython computes for the same file, pick a run of a W&B export, answer every kind of bad
file with a message naming the problem while keeping the last good figures, and stay usable
afterwards.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import gradclip.demos as demos
from support import canvas_ink, demo_ready, results, set_number, wait_idle
from gradclip.logfiles import FILE_LIMIT, MAX_ROWS

pytestmark = pytest.mark.browser

LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "normlogs"
SEL = "#analyser"


def notices(page, sel: str) -> str:
    return page.text_content(f"{sel} .gc-notices") or ""


def drop(page, sel: str, name: str, text: str | bytes) -> None:
    data = text if isinstance(text, bytes) else text.encode()
    page.set_input_files(f"{sel} input[type=file]", files=[{"name": name, "mimeType": "text/plain", "buffer": data}])


GOOD_CSV = "step,grad_norm\n" + "".join(f"{i},{1 + (i % 5) / 10}\n" for i in range(300)) + "300,80\n"

BAD_FILES = [
    ("empty.csv", "", "the file is empty"),
    ("words.csv", "step,grad_norm\n0,1.5\n1,abc\n", "line 3: 'abc'"),
    ("ragged.csv", "step,grad_norm\n0,1\n1,2,3\n", "line 3: expected 2 columns"),
    ("broken.json", '{"grad_norm": [1, 2,\n 3,, 4]}', "line 2: the JSON is malformed"),
    ("negative.csv", "1\n2\n-4\n", "line 3: -4.0 is negative"),
    ("huge.csv", "grad_norm\n" + "1\n" * (MAX_ROWS + 1), "more than 1,000,000 rows"),
    ("model.bin", "PK\x03\x04\x00\x00\x08\x00grad_norm\n1\n", "not a text file"),
    ("photo.png", b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x10", "not a text file"),
]


def test_analyser_reads_a_good_file_and_every_bad_file_gets_a_named_problem(page, site_url):
    page.goto(site_url + "monitor/norm-log-analyser/")
    sel = "#analyser"
    demo_ready(page, sel)
    wait_idle(page, sel, timeout=120_000)
    assert results(page, sel)["source"] == "sample"

    drop(page, sel, "good.csv", GOOD_CSV)
    page.wait_for_function("s => document.querySelector(s + ' [data-result=steps]').dataset.value === '301'",
                           arg=sel, timeout=60_000)
    good = results(page, sel)
    expected = {k: v["value"] for k, v in demos.run("norm_analyser", {"file": GOOD_CSV})["results"].items()}
    assert good == expected

    for name, text, words in BAD_FILES:
        drop(page, sel, name, text)
        page.wait_for_function("([s, w]) => document.querySelector(s + ' .gc-notices').textContent.includes(w)",
                               arg=[sel, words], timeout=120_000)
        assert "could not be used" in notices(page, sel)
        # The last good analysis stays, and says whose it is.
        assert f"{name} was not used; the numbers and figures still show the file good.csv" in notices(page, sel)
        assert results(page, sel) == good
        wait_idle(page, sel)

    # Still usable: another good file replaces the message.
    drop(page, sel, "again.json", json.dumps([1.0, 2.0, 3.0]))
    page.wait_for_function("s => document.querySelector(s + ' [data-result=steps]').dataset.value === '3'",
                           arg=sel, timeout=60_000)
    assert notices(page, sel).strip() == ""
    assert canvas_ink(page, f"{sel} [data-figure=histogram] canvas") > 200


def test_a_file_nested_200000_deep_leaves_the_runtime_working_on_every_page(page, site_url):
    """Once, this file killed Python for the whole visit (a stack overflow inside json.loads)."""
    page.goto(site_url + "monitor/norm-log-analyser/")
    sel = "#analyser"
    demo_ready(page, sel)
    wait_idle(page, sel, timeout=120_000)
    drop(page, sel, "nested.json", "[" * 200_000)
    page.wait_for_function("s => document.querySelector(s + ' .gc-notices').textContent.includes('nested.json')",
                           arg=sel, timeout=120_000)
    assert "the numbers and figures still show the sample log" in notices(page, sel)
    assert results(page, sel)["source"] == "sample"

    drop(page, sel, "good.csv", GOOD_CSV)
    page.wait_for_function("s => document.querySelector(s + ' [data-result=steps]').dataset.value === '301'",
                           arg=sel, timeout=120_000)
    page.locator(".md-nav a[href$='simulator/']").first.click()
    page.wait_for_url(re.compile(r"/simulator/"))
    sim = ".gc-demo[data-demo=simulator]"
    demo_ready(page, sim)
    wait_idle(page, sim)
    set_number(page, sim, "lr", 0.02)
    page.wait_for_function("s => document.querySelector(s).gcDemo.output.params.lr === 0.02", arg=sim, timeout=60_000)


def test_a_file_over_the_limit_is_refused_in_readable_units_before_reading(page, site_url):
    page.goto(site_url + "monitor/norm-log-analyser/")
    sel = "#analyser"
    demo_ready(page, sel)
    wait_idle(page, sel, timeout=120_000)
    before = results(page, sel)
    mib = FILE_LIMIT // 2 ** 20
    page.evaluate("""([s, n]) => { const d = document.querySelector(s).gcDemo;
        const p = d.spec.params.find((q) => q.kind === 'file');
        return d.readFile(p, new File([new Uint8Array(n * 1024 * 1024)], 'big.csv')); }""", [sel, mib + 1])
    assert notices(page, sel) == f"big.csv is {mib + 1} MiB; files over {mib} MiB are not read."
    assert results(page, sel) == before


# ------------------------------------------------------------------- logs real tools wrote

WANDB_CSV = ('"Step","calm-sky-2 - train/grad_norm","calm-sky-2 - train/grad_norm__MIN",'
             '"calm-sky-2 - train/grad_norm__MAX","bold-sun-3 - train/grad_norm","bold-sun-3 - train/loss"\n'
             '"0","1.5","1.5","1.5","3","4.5"\n"10","2.5","2.5","2.5","",""\n"20","","","","6","4"\n')
REAL_FILES = ["hf_trainer_state.json", "lightning_metrics.csv", "tb_export.csv", "tb_export.json",
              "hf_callback.csv", "lightning_callback.csv"]


def shows(page, sel: str, series_text: str) -> None:
    page.wait_for_function("([s, t]) => document.querySelector(s + ' [data-result=series]').textContent.includes(t)",
                           arg=[sel, series_text], timeout=120_000)
    wait_idle(page, sel)


def test_every_real_log_is_read_as_cpython_reads_it_with_the_loss_drawn_beside_it(page, site_url, console_errors):
    page.goto(site_url + "monitor/norm-log-analyser/")
    demo_ready(page, SEL)
    wait_idle(page, SEL, timeout=120_000)
    for name in REAL_FILES:
        text = (LOGS / name).read_text(encoding="utf-8")
        expected = demos.run("norm_analyser", {"file": text})["results"]
        drop(page, SEL, name, text)
        shows(page, SEL, expected["series"]["text"])
        assert results(page, SEL) == {k: v["value"] for k, v in expected.items()}, name
        assert page.text_content(f"{SEL} [data-result=source]").strip().endswith(expected["source"]["text"])
        assert notices(page, SEL).strip() == "", name
        assert canvas_ink(page, f"{SEL} [data-figure=loss] canvas") > 200, name
    assert not console_errors


def test_a_wandb_export_of_two_runs_shows_the_run_the_reader_picks(page, site_url):
    page.goto(site_url + "monitor/norm-log-analyser/")
    demo_ready(page, SEL)
    wait_idle(page, SEL, timeout=120_000)
    drop(page, SEL, "wandb_export.csv", WANDB_CSV)
    shows(page, SEL, "'calm-sky-2 - train/grad_norm' at 2 logged steps")
    set_number(page, SEL, "run", 2)
    shows(page, SEL, "'bold-sun-3 - train/grad_norm' at 2 logged steps")
    assert page.text_content(f"{SEL} [data-result=runs]").strip().endswith("1: calm-sky-2 · 2: bold-sun-3 (shown)")
    expected = demos.run("norm_analyser", {"file": WANDB_CSV, "run": 2})["results"]
    assert results(page, SEL) == {k: v["value"] for k, v in expected.items()}


def test_a_tensorboard_event_file_gets_the_way_to_a_csv(page, site_url):
    page.goto(site_url + "monitor/norm-log-analyser/")
    demo_ready(page, SEL)
    wait_idle(page, SEL, timeout=120_000)
    before = results(page, SEL)
    event = next((LOGS / "tb_events").iterdir())
    drop(page, SEL, event.name, event.read_bytes())
    page.wait_for_function("s => document.querySelector(s + ' .gc-notices').textContent.includes('event file')",
                           arg=SEL, timeout=120_000)
    words = notices(page, SEL)
    assert "this is a TensorBoard event file" in words and "Scalars tab" in words and "gradclip suggest" in words
    assert results(page, SEL) == before
