// Run the JS twin on the inputs tests/test_js_parity.py writes, in one Node process.
//
//   node js/tools/parity.mjs IN.json OUT.json
//
// IN: {"panels": [{"kind", "params", "styles", "points": [values, ...]}],
//      "rules": [{"rule", "objective", "x0", "steps"}], "schedules": [{"schedule", "t"}],
//      "averages": [{"values", "rho", "t"}], "formats": [[value, spec], ...]}
// OUT: the same lists, each point replaced by the numbers the Python side compares
// (iterates, losses, divergence steps, and each kind's extra outputs); a point whose
// computation throws gives {"error": message}.

import { readFileSync, writeFileSync } from "node:fs";
import {
  KINDS, OBJECTIVES, bias_corrected, ema, ema_weights, evaluate, format, run,
} from "../descent/index.js";

const traj = (t, s = "") => ({ [`xs${s}`]: t.xs, [`losses${s}`]: t.losses, [`at${s}`]: t.diverged_at });

// what is compared, per kind (tests/test_js_parity.py extracts the same from Python)
const EXTRACT = {
  Run1D: (r) => traj(r.traj),
  Race2D: (r) => Object.assign({}, ...r.map((e, i) => traj(e.traj, i))),
  Schedule1D: (r) => ({ eta: r.eta, ...traj(r.traj), ...(r.const ? traj(r.const, "c") : {}) }),
  FirstSteps: (r) => ({ rows: r.rows, ...traj(r.traj) }),
  StepLengths: (r) => Object.assign({}, ...r.map((s, i) => ({ [`steps${i}`]: s }))),
  RateRace: (r) => Object.assign({}, ...r.map((e, i) => ({ ...traj(e.traj, i), [`rho${i}`]: e.rho }))),
  EMAExplorer: (r) => ({ V: r.V, w: r.w, window: r.window }),
};

const guard = (f) => { try { return f(); } catch (err) { return { error: String(err && err.message || err) }; } };

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = {
  panels: (input.panels || []).map((p) => p.points.map((values) => guard(() => {
    const kind = KINDS[p.kind];
    return EXTRACT[p.kind](kind.compute(p.params, values));
  }))),
  rules: (input.rules || []).map((c) => guard(() => {
    const objective = OBJECTIVES[c.objective.objective](c.objective.args || {});
    return traj(run(evaluate(c.rule, {}, objective), objective, c.x0, c.steps));
  })),
  schedules: (input.schedules || []).map((c) => guard(() => {
    const s = evaluate(c.schedule, {});
    return { eta: c.t.map((t) => s(t)) };
  })),
  averages: (input.averages || []).map((c) => guard(() => ({
    ema: ema(c.values, c.rho, 0.0), ema1: ema(c.values, c.rho), weights: ema_weights(c.rho, c.t),
    corrected: bias_corrected(ema(c.values, c.rho, 0.0), c.rho),
  }))),
  formats: (input.formats || []).map(([v, spec]) => guard(() => format(v, spec))),
};
writeFileSync(process.argv[3], JSON.stringify(out));
