// descent.run for one run: step a rule from x0 and stop at a divergence.
//
// As in lib/descent/run.py, a run whose loss or any coordinate is non-finite or beyond
// `bound` in magnitude at step k is flagged diverged at k; from then on its iterates and
// losses are NaN (Python keeps stepping a frozen copy; nothing of it is returned).

/** {xs: [steps+1][d], losses: [steps+1], diverged, diverged_at, last, state}. */
export function run(opt, objective, x0, steps, { bound = 1e8 } = {}) {
  let x = Array.isArray(x0) ? x0.map(Number) : [Number(x0)];
  let state = opt.init(x);
  const xs = [x], losses = [objective.f(x)];
  let at = -1;
  for (let k = 1; k <= steps; k++) {
    const g = objective.grad(x);
    const [step, next] = opt.update(g, state, x);
    state = next;
    const xNew = x.map((xi, i) => xi + step[i]);
    const loss = objective.f(xNew);
    const ok = Math.abs(loss) <= bound && xNew.every((v) => Math.abs(v) <= bound); // false for NaN
    if (!ok) {
      at = k;
      for (let j = k; j <= steps; j++) { xs.push(x.map(() => NaN)); losses.push(NaN); }
      break;
    }
    x = xNew;
    xs.push(x);
    losses.push(loss);
  }
  return { xs, losses, diverged: at >= 0, diverged_at: at, last: x, state };
}
