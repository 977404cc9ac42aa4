// Moving averages of descent.averages (chapter 03), on plain arrays of numbers.

/** V_t = rho V_{t-1} + (1 - rho) s_t from V_0 = v0 (Python's v0=None: V_1 = s_1). */
export function ema(values, rho, v0 = null) {
  const out = new Array(values.length);
  let prev, start;
  if (v0 === null) { prev = values[0]; out[0] = prev; start = 1; } else { prev = v0; start = 0; }
  for (let t = start; t < values.length; t++) { prev = rho * prev + (1 - rho) * values[t]; out[t] = prev; }
  return out;
}

/** The weights (1 - rho) rho^(t-i) of s_1 .. s_t inside V_t, oldest first. */
export function ema_weights(rho, t) {
  const out = new Array(t);
  for (let i = 0; i < t; i++) out[i] = (1 - rho) * Math.pow(rho, t - 1 - i);
  return out;
}

/** V_t / (1 - rho^t) for t = 1 .. n. */
export function bias_corrected(averages, rho) {
  return averages.map((v, i) => v / (1 - Math.pow(rho, i + 1)));
}

/** 1 / (1 - rho): about how many recent values an EMA averages. */
export function effective_window(rho) {
  return 1.0 / (1.0 - rho);
}
