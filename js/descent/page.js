// Make the static page's panels live: each <div class="descent-live"> written by
// lib/descent/widgets/html.py holds its controls (disabled), its backgrounds, a canvas and
// its description as JSON.  mount() wires the controls, recomputes with the twin and
// redraws on every change (within one animation frame), then enables the controls.

import { draw } from "./draw.js";
import { format } from "./format.js";
import { KINDS } from "./kinds.js";

const valueOf = (c, index) => (c.type === "slider" ? c.values[index] : c.options[index][1]);

/** Make one panel element live; returns its handle (also el.descentLive). */
export function mount(el) {
  const spec = JSON.parse(el.querySelector("script.dl-spec").textContent);
  const kind = KINDS[spec.kind];
  if (!kind) throw new Error(`descent-live: no twin for the panel kind '${spec.kind}'`);
  const canvas = el.querySelector("canvas.dl-canvas");
  const images = [...el.querySelectorAll("img.dl-bg")];
  const tables = {};
  for (const box of el.querySelectorAll(".dl-pre-box")) tables[box.dataset.artist] = box.querySelector("pre");
  const values = {};
  for (const c of spec.controls) values[c.name] = valueOf(c, c.index);
  const live = { spec, values, timings: [], scene: null, drawn: null, limits: null, redraw, set };

  function redraw() {
    const t0 = performance.now();
    const st = spec.figure.statics.find((s) => Object.entries(s.when).every(([k, v]) => values[k] === v));
    const limits = st.limits.map((lim) => lim.map((r) => r.slice()));
    const result = kind.compute(spec.params, values);
    const scene = kind.scene(spec.params, values, result, limits, spec.styles);
    for (const [i, lim] of Object.entries(scene._ylim || {})) limits[i][1] = lim;
    images.forEach((img, i) => { img.hidden = i !== st.image; });
    live.drawn = draw(canvas, spec, scene, limits);
    for (const [name, pre] of Object.entries(tables)) pre.textContent = (scene[name] && scene[name].text) || "";
    live.scene = scene;
    live.limits = limits;
    live.last = performance.now() - t0;
    live.timings.push(live.last);
  }

  let pending = false;
  const schedule = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; redraw(); });
  };

  const inputs = {};
  for (const input of el.querySelectorAll("[data-control]")) inputs[input.dataset.control] = input;
  for (const c of spec.controls) {
    const input = inputs[c.name];
    const readout = input.parentElement.querySelector(".dl-readout");
    input.addEventListener("input", () => {
      values[c.name] = valueOf(c, Number(input.value));
      if (readout) readout.textContent = format(values[c.name], c.format);
      schedule();
    });
    input.disabled = false;
  }

  /** Set a control by its value (as the reader would) and redraw at once. */
  function set(name, value) {
    const c = spec.controls.find((k) => k.name === name);
    const list = c.type === "slider" ? c.values : c.options.map((o) => o[1]);
    const index = list.indexOf(value);
    if (index < 0) throw new Error(`descent-live: ${JSON.stringify(value)} is not a value of '${name}'`);
    inputs[name].value = String(index);
    inputs[name].dispatchEvent(new Event("input"));
    pending = false;
    redraw();
  }

  if (typeof ResizeObserver !== "undefined") new ResizeObserver(schedule).observe(canvas);
  redraw();
  for (const note of el.querySelectorAll(".dl-loading")) note.hidden = true;
  el.classList.add("dl-live");
  el.descentLive = live;
  return live;
}

/** Mount every live panel of the page. */
export function mountAll(root = document) {
  for (const el of root.querySelectorAll(".descent-live[data-kind]:not(.dl-inactive)")) {
    try {
      mount(el);
    } catch (err) {
      console.error("descent-live: a panel could not start:", err);
    }
  }
}
