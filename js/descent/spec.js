// Evaluate a panel's JSON description (lib/descent/widgets/spec.py, to_json) with the twin:
//   {"c": name}                      the control's value
//   {"op": "+", "args": [a, b]}      + - * / neg sqrt, in the same order as Python
//   {"switch": name, "cases": [[value, description], ...]}
//   {"rule"|"schedule"|"objective": name, "args": {...}}
//   [a, b, ...]                      a list (Python: a tuple)

import { OBJECTIVES } from "./functions.js";
import { RULES, TAKES_OBJECTIVE } from "./rules.js";
import { SCHEDULES } from "./schedules.js";

const OPS = {
  "+": (a, b) => a + b, "-": (a, b) => a - b, "*": (a, b) => a * b, "/": (a, b) => a / b,
  neg: (a) => -a, sqrt: (a) => Math.sqrt(a),
};

function evaluateArgs(args, values, objective) {
  const out = {};
  for (const [k, v] of Object.entries(args || {})) out[k] = evaluate(v, values, objective);
  return out;
}

/** The value of description `d` for the controls' `values` ({name: value}); `objective` is
 *  given to the rules that take one first. */
export function evaluate(d, values, objective = null) {
  if (d === null || typeof d !== "object") return d;
  if (Array.isArray(d)) return d.map((e) => evaluate(e, values, objective));
  if ("c" in d) {
    if (!(d.c in values)) throw new Error(`Invalid values: no value for control '${d.c}'`);
    return values[d.c];
  }
  if ("op" in d) return OPS[d.op](...d.args.map((a) => evaluate(a, values, objective)));
  if ("switch" in d) {
    const v = values[d.switch];
    const hit = d.cases.find(([k]) => k === v);
    if (!hit) throw new Error(`Invalid value: ${JSON.stringify(v)} for '${d.switch}'`);
    return evaluate(hit[1], values, objective);
  }
  if ("rule" in d) {
    const make = RULES[d.rule];
    if (!make) throw new Error(`Invalid rule: '${d.rule}' (no JavaScript twin)`);
    const args = evaluateArgs(d.args, values, objective);
    return TAKES_OBJECTIVE.has(d.rule) ? make(objective, args) : make(args);
  }
  if ("schedule" in d) {
    const make = SCHEDULES[d.schedule];
    if (!make) throw new Error(`Invalid schedule: '${d.schedule}' (no JavaScript twin)`);
    return make(evaluateArgs(d.args, values, objective));
  }
  if ("objective" in d) {
    const make = OBJECTIVES[d.objective];
    if (!make) throw new Error(`Invalid objective: '${d.objective}' (no JavaScript twin)`);
    return make(evaluateArgs(d.args, values, objective));
  }
  throw new Error(`Invalid description: ${JSON.stringify(d)}`);
}
