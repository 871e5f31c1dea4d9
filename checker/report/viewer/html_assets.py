"""The style sheet and script inlined into every HTML viewer page.

Kept as Python strings so that the page needs no file beside it and the package needs no
data files: the HTML is one self-contained document, readable offline and from a mail
attachment. Without the script (a mail reader, a printer) every step is shown one after
another and the timeline rows are plain links to them; with it, one step is shown at a
time and the arrow keys, the buttons and clicks on the timeline move between steps.
"""

from __future__ import annotations

CSS = """
:root {
  --ink: #1d232b; --muted: #5b6673; --line: #d6dbe1; --panel: #f6f8fa; --bad: #c62828;
  --bad-bg: #fdecea; --chg: #ffd54a; --ok: #1b7f3b; --warn: #9a6700; --warn-bg: #fff4d6;
  --lane0: #0a7ea4; --lane1: #b5179e; --lane2: #2a8a3e; --lane3: #9a6700; --lane4: #3355cc;
  --lane5: #cc3333; --lane6: #6f42c1; --lane7: #c25e00;
}
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; padding: 16px 20px 40px; color: var(--ink); background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
code, .mono, table.space td, table.space th, .timeline td.lane, .sem, .locals {
  font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; }
h1 { font-size: 20px; margin: 0 0 4px; }
h1 .verdict { color: var(--bad); }
h2 { font-size: 16px; margin: 0 0 8px; }
.sub { color: var(--muted); margin: 0 0 10px; }
.why { background: var(--bad-bg); border-left: 4px solid var(--bad); padding: 8px 12px; margin: 8px 0;
  font-weight: 600; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 8px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
dl.facts ul { margin: 0; padding-left: 18px; }
.replay-ok { color: var(--ok); }
.replay-warn { color: var(--warn); background: var(--warn-bg); padding: 2px 6px; font-weight: 600; }
details.property { background: var(--panel); border: 1px solid var(--line); border-radius: 6px;
  padding: 6px 12px; margin: 8px 0 12px; }
details.property summary { cursor: pointer; font-weight: 600; }
details.property p { margin: 6px 0; }
.chip { display: inline-block; padding: 0 8px; border-radius: 10px; color: #fff; margin-right: 6px;
  font-weight: 600; }
.l0 { --lane: var(--lane0); } .l1 { --lane: var(--lane1); } .l2 { --lane: var(--lane2); }
.l3 { --lane: var(--lane3); } .l4 { --lane: var(--lane4); } .l5 { --lane: var(--lane5); }
.l6 { --lane: var(--lane6); } .l7 { --lane: var(--lane7); }
.chip { background: var(--lane); }
nav#controls { position: sticky; top: 0; z-index: 2; background: #fff; padding: 6px 0;
  border-bottom: 1px solid var(--line); display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
nav#controls button { font: inherit; padding: 3px 12px; border: 1px solid var(--line); border-radius: 5px;
  background: var(--panel); cursor: pointer; }
nav#controls button:disabled { opacity: .4; cursor: default; }
#position { font-weight: 600; min-width: 9em; }
.hint { color: var(--muted); }
.nojs-only { color: var(--muted); }
.js .nojs-only { display: none; }
html:not(.js) nav#controls button, html:not(.js) #position, html:not(.js) .hint { display: none; }
.layout { display: grid; grid-template-columns: minmax(0, max-content) minmax(420px, 1fr); gap: 18px;
  margin-top: 12px; align-items: start; }
/* Each column keeps to its track: content wider than its column scrolls inside it instead of
   spilling into the other (a grid item's minimum width is otherwise its content's). */
.layout > * { min-width: 0; }
/* The timeline stays beside the picture while the page scrolls, and scrolls inside itself
   when it is longer or wider than the window. */
#timeline-panel { position: sticky; top: 50px; max-height: calc(100vh - 60px); overflow: auto; }
.timeline { border-collapse: collapse; font-size: 13px; }
.timeline th, .timeline td { padding: 2px 8px; text-align: left; white-space: nowrap; }
.timeline thead th { border-bottom: 2px solid var(--line); position: sticky; top: 0; background: #fff;
  z-index: 1; }
.timeline tbody tr { cursor: pointer; }
.timeline tbody tr:hover { background: #eef3f8; }
.timeline tbody tr.selected { background: #dbe9f7; outline: 2px solid #5b8fc9; outline-offset: -2px; }
.timeline tbody tr.last td.step { color: var(--bad); font-weight: 700; }
.timeline td.step { text-align: right; color: var(--muted); }
.timeline td.step a { color: inherit; text-decoration: none; }
.timeline td.lane { border-left: 3px solid transparent; }
.timeline td.lane.alive { border-left-color: color-mix(in srgb, var(--lane) 35%, #fff); }
.timeline td.lane.ran { border-left-color: var(--lane); color: var(--lane); font-weight: 700; }
.timeline td.mark { color: var(--bad); font-weight: 700; }
/* Narrow lanes: a slim column per thread, its name where it ran; the step named after them. */
.timeline.narrow th.lane-head, .timeline.narrow td.lane { padding: 2px; text-align: center;
  min-width: 2.3em; }
.timeline.narrow th.lane-head .chip { margin: 0; padding: 0 5px; }
.timeline.narrow td.lane { border-left: 0; font-size: 11px; }
.timeline.narrow td.lane.alive { background: linear-gradient(color-mix(in srgb, var(--lane) 40%, #fff),
  color-mix(in srgb, var(--lane) 40%, #fff)) no-repeat center / 3px 100%; }
.timeline.narrow td.lane.ran { background: var(--lane); color: #fff; border-radius: 4px; }
.timeline td.what { color: var(--lane, var(--muted)); font-weight: 700; }
.timeline td.what .kernel { color: var(--muted); font-weight: normal; }
.sem { display: inline-block; min-width: 1.6em; text-align: center; border-radius: 4px; padding: 0 4px; }
.sem-W { background: #f4c7c3; } .sem-R { background: #c9def5; } .sem-free { background: #e3e7eb; }
.frame { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; margin-bottom: 14px;
  break-inside: avoid; page-break-inside: avoid; }
.js .frame { display: none; }
.js .frame.current { display: block; }
.frame.last { border-color: var(--bad); }
.frame .kernel { color: var(--muted); }
.frame .note { font-style: italic; }
.frame h3 { font-size: 13px; color: var(--muted); margin: 10px 0 4px; text-transform: uppercase;
  letter-spacing: .04em; }
.frame ul { margin: 0; padding-left: 18px; }
.frame ul.did li { color: var(--bad); }
.frame .final { color: var(--bad); font-weight: 700; margin-top: 10px; }
/* The grid in bands of whole page tables, side by side while they fit, else below each other. */
.space-bands { display: flex; flex-wrap: wrap; gap: 8px 18px; align-items: flex-start; overflow-x: auto; }
table.space { border-collapse: separate; border-spacing: 2px; font-size: 14px; }
table.space th { font-weight: normal; color: var(--muted); text-align: right; padding-right: 8px;
  white-space: nowrap; }
table.space thead th { text-align: center; padding: 0; }
table.space td { width: 2.1em; height: 1.9em; text-align: center; border: 1px solid var(--line);
  border-radius: 3px; background: #fff; }
table.space td.none { color: #b3bac2; }
table.space td.pt-on { background: #d9f2dd; }
table.space td.pt-off { background: #f4c7c3; }
table.space td.pt-never { color: #b3bac2; }
table.space td.held, table.space td.freed { font-style: italic; background-image: repeating-linear-gradient(
  45deg, transparent 0 4px, rgba(0,0,0,.08) 4px 6px); }
table.space td.edge { border-left: 3px solid #4a5560; }
table.space td.chg { border: 2px solid #b8860b; box-shadow: inset 0 0 0 2px var(--chg); font-weight: 700; }
table.space td.hit { outline: 2px dashed var(--bad); }
table.space td.fail { background: var(--bad) !important; color: #fff; font-weight: 700;
  border: 2px solid #7f0000; }
.m0 { background: #cfe3ff !important; } .m1 { background: #ffe0b3 !important; }
.m2 { background: #d5f0c8 !important; } .m3 { background: #f2d4f0 !important; }
.m4 { background: #fff3b0 !important; } .m5 { background: #cdeff0 !important; }
.m6 { background: #e6dcff !important; } .m7 { background: #ffd6d6 !important; }
table.threads { border-collapse: collapse; }
table.threads td, table.threads th { padding: 2px 10px 2px 0; vertical-align: top; text-align: left; }
table.threads td.changed { font-weight: 700; }
table.threads td.status, table.threads td.lock { white-space: nowrap; }
.locals .chg { background: var(--chg); }
.legend { color: var(--muted); font-size: 12.5px; margin-top: 20px; border-top: 1px solid var(--line);
  padding-top: 8px; }
.legend code { color: var(--ink); }
/* Compact (show --html --compact): the timeline over the whole width, each row with the
   step's address space drawn small, a character per page, and what the step changed. */
.layout.stacked { grid-template-columns: minmax(0, 1fr); }
.layout.stacked #timeline-panel { position: static; max-height: none; }
.strip-set { display: flex; flex-wrap: wrap; gap: 0 14px; }
.strip { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
  font-size: 11px; line-height: 1.35; white-space: pre; font-weight: normal; }
.strip.ruler { color: var(--muted); }
.strip .none, .strip .pt-never { color: #9aa3ad; }
.strip .pt-on { background: #d9f2dd; } .strip .pt-off { background: #f4c7c3; }
.strip .held, .strip .freed { font-style: italic; }
.strip .chg { box-shadow: inset 0 -3px 0 #b8860b; font-weight: 700; }
.strip .fail { background: var(--bad) !important; color: #fff; font-weight: 700; }
.compact .timeline td.what { white-space: normal; min-width: 12em; max-width: 26em; }
.timeline td.what .changes { color: var(--ink); font-weight: normal; font-size: 12px; }
@media (max-width: 900px) {
  .layout { grid-template-columns: minmax(0, 1fr); }
  #timeline-panel { position: static; max-height: 60vh; }
}
@media print {
  body { padding: 0; font-size: 11pt; }
  nav#controls, .hint { display: none !important; }
  .layout { display: block; }
  #timeline-panel { position: static; max-height: none; overflow: visible; }
  .js .frame { display: block !important; }
  .timeline tbody tr.selected { background: none; outline: none; }
  .timeline thead th { position: static; }
  details.property { border: none; padding: 0; }
}
"""

JS = """
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");
  var frames = Array.prototype.slice.call(document.querySelectorAll("section.frame"));
  var rows = Array.prototype.slice.call(document.querySelectorAll(".timeline tbody tr[data-step]"));
  var position = document.getElementById("position");
  var prev = document.getElementById("prev");
  var next = document.getElementById("next");
  var current = -1;

  function select(i, quiet) {
    if (!frames.length) { return; }
    i = Math.max(0, Math.min(frames.length - 1, i));
    if (i === current) { return; }
    frames.forEach(function (f, k) {
      f.classList.toggle("current", k === i);
      f.setAttribute("aria-hidden", k === i ? "false" : "true");
    });
    rows.forEach(function (r) {
      var on = Number(r.getAttribute("data-step")) === i;
      r.classList.toggle("selected", on);
      r.setAttribute("aria-selected", on ? "true" : "false");
      if (on && !quiet && r.scrollIntoView) { r.scrollIntoView({block: "nearest"}); }
    });
    current = i;
    position.textContent = "Step " + i + " of " + (frames.length - 1) + (i === 0 ? " (initial state)" : "");
    prev.disabled = i === 0;
    next.disabled = i === frames.length - 1;
    // Not on load: a fragment set while the page loads makes the browser jump to it.
    if (!quiet && window.history && history.replaceState) {
      try { history.replaceState(null, "", "#step-" + i); } catch (e) { /* file: URLs may refuse */ }
    }
  }

  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) { return; }
    var t = e.target && e.target.tagName;
    if (t === "INPUT" || t === "TEXTAREA" || t === "SELECT") { return; }
    switch (e.key) {
      case "ArrowRight": case "ArrowDown": case "j": case "n": select(current + 1); break;
      case "ArrowLeft": case "ArrowUp": case "k": case "p": select(current - 1); break;
      case "Home": select(0); break;
      case "End": select(frames.length - 1); break;
      default: return;
    }
    e.preventDefault();
  });
  rows.forEach(function (r) {
    r.addEventListener("click", function (e) {
      e.preventDefault();
      select(Number(r.getAttribute("data-step")));
    });
  });
  prev.addEventListener("click", function () { select(current - 1); });
  next.addEventListener("click", function () { select(current + 1); });
  function fromHash() {
    var m = /^#step-(\\d+)$/.exec(location.hash);
    return m ? Number(m[1]) : null;
  }
  window.addEventListener("hashchange", function () {
    var i = fromHash();
    if (i !== null) { select(i); }
  });
  var start = fromHash();
  select(start === null ? 0 : start, true);
})();
"""
