// The objectives of the live panels (descent.functions), built from their JSON description
// {"objective": name, "args": {...}} (Objective.describe() in Python).  f, grad and hessian
// take one point (an array of length dim) and repeat the Python arithmetic in its order;
// f_min is recomputed here (it is only drawn, never iterated on).

const cosSinMatrix = (condition, angle, scale) => {
  // R diag(l1, l2) R^T written out, in the order of descent.functions.quadratic
  const c = Math.cos(angle), s = Math.sin(angle);
  const l1 = scale, l2 = scale * condition;
  const off = (l1 - l2) * c * s;
  return [[l1 * c * c + l2 * s * s, off], [off, l1 * s * s + l2 * c * c]];
};

/** 1/2 x^T A x - b^T x, from A (and b) or, in 2-D, from condition, angle and scale. */
export function quadratic({ A = null, b = null, condition = null, angle = 0.0, scale = 1.0 } = {}) {
  const M = A !== null ? A : cosSinMatrix(condition, angle, scale);
  const d = M.length;
  const bb = b !== null ? b : new Array(d).fill(0.0);
  const xA = (x) => M[0].map((_, j) => x.reduce((s, xi, i) => (i === 0 ? xi * M[0][j] : s + xi * M[i][j]), 0));
  const sum = (v) => v.reduce((s, e, i) => (i === 0 ? e : s + e), 0);
  const obj = {
    name: "quadratic", dim: d, A: M, b: bb,
    f: (x) => { const xa = xA(x); return 0.5 * sum(xa.map((v, i) => v * x[i])) - sum(x.map((v, i) => v * bb[i])); },
    grad: (x) => xA(x).map((v, i) => v - bb[i]),
    hessian: () => M.map((row) => row.slice()),
    eigenvalues: eig2(M),
  };
  obj.f_min = d === 2 && obj.eigenvalues.every((l) => l > 0) ? -0.5 * dotSolve2(M, bb) : null;
  return obj;
}

// the eigenvalues of a symmetric 2x2 matrix, ascending (closed form)
function eig2(M) {
  if (M.length !== 2) return null;
  const m = (M[0][0] + M[1][1]) / 2, r = Math.hypot((M[0][0] - M[1][1]) / 2, M[0][1]);
  return [m - r, m + r];
}

function dotSolve2(M, b) { // b . M^{-1} b
  const det = M[0][0] * M[1][1] - M[0][1] * M[1][0];
  const x0 = (b[0] * M[1][1] - M[0][1] * b[1]) / det, x1 = (M[0][0] * b[1] - M[1][0] * b[0]) / det;
  return b[0] * x0 + b[1] * x1;
}

/** a x^2 (1-D). */
export function parabola({ a = 1.0 } = {}) {
  return {
    name: "parabola", dim: 1, f_min: 0.0,
    f: (x) => a * (x[0] * x[0]),
    grad: (x) => [2 * a * x[0]],
    hessian: () => [[2 * a]],
  };
}

/** ln(x^2 + c) (1-D). */
export function log_bowl({ c = 0.01 } = {}) {
  return {
    name: "log_bowl", dim: 1, f_min: Math.log(c),
    f: (x) => Math.log(x[0] * x[0] + c),
    grad: (x) => [(2 * x[0]) / (x[0] * x[0] + c)],
    hessian: (x) => [[(2 * (c - x[0] * x[0])) / ((x[0] * x[0] + c) * (x[0] * x[0] + c))]],
  };
}

/** 0.05 x^4 - 0.5 x^2 - 0.3 x (1-D), written with products as in Python. */
export function two_minima() {
  const f = (x) => { const x2 = x[0] * x[0]; return 0.05 * (x2 * x2) - 0.5 * x2 - 0.3 * x[0]; };
  let r = 2.4; // the global minimum: a root of 0.2 x^3 - x - 0.3, by Newton's method
  for (let k = 0; k < 50; k++) r = r - (0.2 * r * r * r - r - 0.3) / (0.6 * r * r - 1.0);
  return {
    name: "two_minima", dim: 1, f_min: f([r]),
    f,
    grad: (x) => [0.2 * (x[0] * x[0] * x[0]) - x[0] - 0.3],
    hessian: (x) => [[0.6 * (x[0] * x[0]) - 1.0]],
  };
}

/** (a - x)^2 + b (y - x^2)^2. */
export function rosenbrock({ a = 1.0, b = 100.0 } = {}) {
  return {
    name: "rosenbrock", dim: 2, f_min: 0.0,
    f: ([u, v]) => { const p = a - u, q = v - u * u; return p * p + b * (q * q); },
    grad: ([u, v]) => { const r = v - u * u; return [-2 * (a - u) - 4 * b * u * r, 2 * b * r]; },
    hessian: ([u, v]) => [[2 - 4 * b * (v - u * u) + 8 * b * u * u, -4 * b * u], [-4 * b * u, 2 * b]],
  };
}

export const OBJECTIVES = { quadratic, parabola, log_bowl, two_minima, rosenbrock };
