// The twin of lib/descent/widgets/kinds.py: for each kind of panel, compute(params, values)
// runs the experiment with the JS port of descent, and scene(params, values, result, limits)
// gives the data of each moving artist ({name: {x, y, color} | {text} | ...}), the same
// names and the same data as the Python kind's scene.

import { bias_corrected, ema, ema_weights, effective_window } from "./averages.js";
import { format, subscript } from "./format.js";
import { stateField } from "./rules.js";
import { run } from "./run.js";
import { evaluate } from "./spec.js";

const range = (n, start = 0) => Array.from({ length: n }, (_, i) => i + start);
const clip = (v, [lo, hi]) => Math.min(Math.max(v, lo), hi);
const positive = (ys) => ys.map((y) => (y > 0 ? y : NaN));
const lastFinite = (xs) => { for (let i = xs.length - 1; i >= 0; i--) if (Number.isFinite(xs[i])) return i; return 0; };
const fMin = (obj) => (obj.f_min === null || obj.f_min === undefined ? 0.0 : obj.f_min);
// f - f* to draw on a log axis; where f* != 0, a gap within 64 ulps of it is rounding, drawn on that floor
function gapOf(losses, f_min) {
  const gap = losses.map((v) => v - f_min), noise = 64 * 2.220446049250313e-16 * Math.abs(f_min);
  const shown = noise === 0 ? positive(gap) : gap.map((g) => (Number.isNaN(g) ? NaN : g > noise ? g : noise));
  return [gap, shown];
}
const colorOf = (styles, opt) => (styles[opt.name] || { color: "#1b9e77" }).color;
const lsOf = (styles, opt) => (styles[opt.name] || { ls: "-" }).ls || "-";
const labelOf = (styles, opt, label) => (label ? label : (styles[opt.name] || { label: opt.name }).label);

function status(prefix, at, x, y, label = "") {
  if (at < 0) return { [`${prefix}_cross`]: { x: [], y: [] }, [`${prefix}_text`]: { text: "" } };
  return { [`${prefix}_cross`]: { x: [x], y: [y] }, [`${prefix}_text`]: { text: `${label} diverged at step ${at}`.trim() } };
}

const col = (xs, i) => xs.map((p) => p[i]);

export const Run1D = {
  compute(p, values) {
    const objective = evaluate(p.objective, values);
    const opt = evaluate(p.rule, values, objective);
    const x0 = evaluate(p.x0, values);
    return { objective, opt, traj: run(opt, objective, [x0], evaluate(p.steps, values)) };
  },
  scene(p, values, { objective, opt, traj }, limits, styles) {
    const [[xlim, ylim]] = limits;
    const color = colorOf(styles, opt);
    const x = col(traj.xs, 0), f = traj.losses;
    const [gap, shown] = gapOf(f, fMin(objective));
    const t = range(gap.length);
    const at = traj.diverged_at, j = lastFinite(x);
    return {
      path: { x, y: f, color }, start: { x: x.slice(0, 1), y: f.slice(0, 1), color },
      loss: { x: t, y: shown, color },
      title: { text: `x${subscript(j)} = ${format(x[j], ".4g")}` + (at < 0 ? "" : " (last finite)") },
      ...status("status", at, clip(x[j], xlim), clip(f[j], ylim)),
      ...status("status2", at, t[j], shown[j]),
    };
  },
};

export const Race2D = {
  compute(p, values) {
    const objective = evaluate(p.objective, values);
    const x0 = p.x0.map((v) => evaluate(v, values));
    const steps = evaluate(p.steps, values);
    return p.rules.map(([label, d]) => {
      const opt = evaluate(d, values, objective);
      return { label, opt, traj: run(opt, objective, x0, steps), objective };
    });
  },
  scene(p, values, result, limits, styles) {
    const [[xlim, ylim]] = limits;
    const scene = {}, entries = [];
    let first = null;
    result.forEach(({ label, opt, traj, objective }, i) => {
      const color = colorOf(styles, opt), lab = labelOf(styles, opt, label), ls = lsOf(styles, opt);
      const x = col(traj.xs, 0), y = col(traj.xs, 1);
      const [gap, shown] = gapOf(traj.losses, fMin(objective));
      const t = range(gap.length);
      scene[`path${i}`] = { x, y, color, ls };
      scene[`start${i}`] = { x: x.slice(0, 1), y: y.slice(0, 1), color };
      scene[`loss${i}`] = { x: t, y: shown, color, ls };
      entries.push([lab, color, ls]);
      if (traj.diverged_at >= 0 && first === null) {
        const j = lastFinite(x);
        first = { px: x[j], py: y[j], tj: t[j], gj: shown[j], at: traj.diverged_at, lab };
      }
    });
    scene.legend = { entries };
    if (first === null) Object.assign(scene, status("status", -1), status("status2", -1));
    else {
      Object.assign(scene, status("status", first.at, clip(first.px, xlim), clip(first.py, ylim), first.lab));
      Object.assign(scene, status("status2", first.at, first.tj, first.gj, first.lab));
    }
    return scene;
  },
};

export const Schedule1D = {
  compute(p, values) {
    const objective = evaluate(p.objective, values);
    const sched = evaluate(p.eta, values);
    const x0 = [evaluate(p.x0, values)];
    return {
      f_min: objective.f_min === null ? p.f_min : objective.f_min,
      eta: range(p.steps).map((t) => sched(t)),
      traj: run(evaluate(p.rule, values, objective), objective, x0, p.steps),
      const: p.constant === null ? null : run(evaluate(p.constant, values, objective), objective, x0, p.steps),
    };
  },
  scene(p, values, { eta, traj, const: c, f_min }, limits) {
    const [, [xlim, ylim]] = limits;
    const x = col(traj.xs, 0), f = traj.losses;
    const gap = f.map((v) => v - f_min);
    const t = range(gap.length);
    const at = traj.diverged_at, j = lastFinite(x);
    const scene = {
      eta: { x: range(eta.length), y: positive(eta) },
      path: { x, y: f }, start: { x: x.slice(0, 1), y: f.slice(0, 1) },
      loss: { x: t, y: gap.map((g) => Math.max(g, p.floor)) },
      cpath: { x: [], y: [] }, closs: { x: [], y: [] },
      title: { text: `schedule: x${subscript(j)} = ${format(x[j], ".3g")}` + (at < 0 ? "" : " (last finite)") },
      ...status("status", at, clip(x[j], xlim), clip(f[j], ylim)),
      ...status("status2", at, t[j], Math.max(gap[j], p.floor)),
    };
    if (c !== null) {
      scene.cpath = { x: col(c.xs, 0), y: c.losses };
      scene.closs = { x: t, y: c.losses.map((v) => Math.max(v - f_min, p.floor)) };
    }
    return scene;
  },
};

export const FirstSteps = {
  compute(p, values) {
    const objective = evaluate(p.objective, values);
    const opt = evaluate(p.rule, values, objective);
    const x0 = evaluate(p.x0, values), field = evaluate(p.state, values);
    let x = [x0], state = opt.init(x);
    const rows = [];
    for (let k = 0; k < p.rows; k++) {
      const g = objective.grad(x);
      const [step, next] = opt.update(g, state, x);
      state = next;
      x = x.map((xi, i) => xi + step[i]);
      rows.push([g[0], stateField(opt, state, field)[0], x[0]]);
    }
    return { opt, rows, traj: run(opt, objective, [x0], p.steps) };
  },
  scene(p, values, { opt, rows, traj }, limits, styles) {
    const [[xlim, ylim]] = limits;
    const color = colorOf(styles, opt);
    const x = col(traj.xs, 0), f = traj.losses;
    const at = traj.diverged_at, j = lastFinite(x);
    const lines = [`  t       g_t  ${format(p.state_label, ">10s")}        x_t`];
    rows.forEach(([g, s, xt], i) => lines.push(`${format(i + 1, "3d")} ${format(g, "9.4f")} ${format(s, "11.4f")} ${format(xt, "10.4f")}`));
    lines.push("", ` x_${p.steps} = ${format(x[j], ".4g")}`, ` form: ${opt.name}`);
    return {
      path: { x, y: f, color }, start: { x: x.slice(0, 1), y: f.slice(0, 1), color },
      table: { text: lines.join("\n") },
      ...status("status", at, clip(x[j], xlim), clip(f[j], ylim)),
    };
  },
};

export const StepLengths = {
  compute(p, values) {
    const g = evaluate(p.grad, values);
    return p.rules.map(([, d]) => {
      const opt = evaluate(d, values);
      let state = opt.init([0.0]);
      const out = new Array(p.steps);
      for (let k = 0; k < p.steps; k++) {
        const [step, next] = opt.update([g], state, [0.0]);
        state = next;
        out[k] = -step[0];
      }
      return out;
    });
  },
  scene(p, values, result) {
    const t = p.index;
    const note = ([label, e, fmt]) => `${label} = ${format(evaluate(e, values), fmt)}`;
    const rows = [...p.notes.map(note), "", `${format("form", "12s")}${format("t = 1", ">10s")}${format("max", ">10s")}${format("at t", ">7s")}`];
    const scene = {};
    result.forEach((steps, i) => {
      scene[`line${i}`] = { x: t, y: t.map((k) => Math.min(Math.max(steps[k - 1], 1e-5), 1e4)) };
      let k = 0;
      for (let m = 1; m < steps.length; m++) if (steps[m] > steps[k]) k = m;
      const at = steps[k] > steps[0] * (1 + 1e-9) ? format(k + 1, "7d") : format("-", ">7s");
      rows.push(`${format(p.rules[i][0], "12s")}${format(steps[0], "10.3f")}${format(steps[k], "10.3f")}${at}`);
    });
    if (p.footer.length) rows.push("", ...p.footer.map(note));
    scene.table = { text: rows.join("\n") };
    return scene;
  },
};

// the rate rho at which a rule contracts on a quadratic (see kinds.linear_rate)
export function linearRate(opt, objective) {
  const lams = objective.eigenvalues, h = opt.hyperparams || {};
  const lr = h.lr;
  if (!lams || lr === undefined || typeof lr === "function") return null;
  let name = opt.name;
  if (name === "sgd" && !h.momentum && !h.weight_decay) name = "gd";
  if (name === "gd") return Math.max(...lams.map((l) => Math.abs(1 - lr * l)));
  if (name === "heavy_ball" || name === "momentum") {
    const beta = h.beta;
    let radius = 0.0;
    for (const l of lams) {
      const q = 1 + beta - lr * l, disc = q * q - 4 * beta;
      const r = disc < 0 ? Math.sqrt(beta) : Math.max(Math.abs(q + Math.sqrt(disc)), Math.abs(q - Math.sqrt(disc))) / 2;
      radius = Math.max(radius, r);
    }
    return radius;
  }
  return null;
}

export const RateRace = {
  compute(p, values) {
    const objective = evaluate(p.objective, values);
    return p.rules.map(([, d]) => {
      const opt = evaluate(d, values, objective);
      return { opt, traj: run(opt, objective, p.x0, p.steps), rho: linearRate(opt, objective) };
    });
  },
  scene(p, values, result, limits, styles) {
    const t = range(p.steps + 1);
    const norm0 = Math.sqrt(p.x0.reduce((s, v) => s + v * v, 0));
    const scene = {}, words = [];
    result.forEach(({ opt, traj, rho }, i) => {
      const label = labelOf(styles, opt, p.rules[i][0]);
      const norm = traj.xs.map(([a, b]) => Math.sqrt(a * a + b * b));
      scene[`meas${i}`] = { x: t, y: norm };
      scene[`theo${i}`] = rho === null ? { x: [], y: [] } : { x: t, y: t.map((k) => Math.min(Math.pow(rho, k) * norm0, 1e12)) };
      const at = traj.diverged_at, last = at > 0 ? at - 1 : 0;
      Object.assign(scene, status(`status${i}`, at, last, norm[last], label));
      if (rho !== null) words.push(`${label} ρ = ${format(rho, ".4f")}`);
    });
    scene.rates = { text: words.join(",  ") };
    return scene;
  },
};

export const EMAExplorer = {
  compute(p, values) {
    const rho = evaluate(p.rho, values), t = evaluate(p.t, values);
    const sigma = evaluate(p.sigma, values), bias = evaluate(p.bias, values);
    const n = p.signal.length;
    const series = p.signal.map((s, i) => s + sigma * p.noise[i]);
    let V = ema(series, rho, 0.0);
    let w = new Array(n).fill(0.0);
    ema_weights(rho, t).forEach((v, i) => { w[i] = v; });
    if (bias === "on") {
      V = bias_corrected(V, rho);
      const c = 1 - Math.pow(rho, t);
      w = w.map((v) => v / c);
    }
    return { series, V, w, window: effective_window(rho) };
  },
  scene(p, values, { series, V, w, window }) {
    const t = evaluate(p.t, values);
    const corrected = evaluate(p.bias, values) === "on";
    const ts = range(series.length, 1);
    const lo = Math.max(t - window, 0.5);
    const tallest = Math.max(...w);
    const top = p.ladder.find((c) => c >= 1.1 * tallest) ?? p.ladder[p.ladder.length - 1];
    const sum = w.reduce((s, v, i) => (i === 0 ? v : s + v), 0);
    return {
      dots: { x: ts, y: series }, ema: { x: ts, y: V }, now: { x: [t], y: [V[t - 1]] },
      band: { x0: lo, x1: t },
      text: { text: `V${subscript(t)} = ${format(V[t - 1], ".3f")}` + (corrected ? "  (corrected)" : "") },
      bars: { values: w },
      wtext: { text: `window 1/(1-ρ) = ${format(window, ".4g")}\nweights sum to ${format(sum, ".4f")}` },
      _ylim: { 1: [0.0, top] },
    };
  },
};

export const KINDS = { Run1D, Race2D, Schedule1D, FirstSteps, StepLengths, RateRace, EMAExplorer };
