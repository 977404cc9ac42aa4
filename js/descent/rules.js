// The update rules of descent (lib/descent/rules), for the book's live panels.
//
// A rule is a factory returning {name, hyperparams, init(x), update(grad, state, x)}:
//   state = opt.init(x);  [step, state] = opt.update(grad, state, x);  x = x + step
// exactly as in Python.  Vectors are plain arrays; state is a small object whose fields
// carry the Python state's names.  Each update repeats the Python rule's operations in the
// same order (NumPy applies them element by element, as here); `v ** 0.5` on an array is
// Math.sqrt, a Python float `b ** t` is Math.pow.  State fields carry the math names of
// descent.rules (TORCH_KEYS below maps them to torch's state keys, as rules.base does).  tests/test_js_parity.py holds the two
// sides to 1e-12 over every live panel's controls.

import { lrAt } from "./schedules.js";

const map = (a, f) => a.map(f);
const zip2 = (a, b, f) => a.map((v, i) => f(v, b[i], i));
const zip3 = (a, b, c, f) => a.map((v, i) => f(v, b[i], c[i], i));
const zerosLike = (x) => x.map((v) => v * 0.0);
const isZero = (v) => v === 0 || v === false;

// torch's prologue: g = ±grad (+ weight_decay * x)
function prologue(grad, x, maximize, weight_decay) {
  let g = maximize ? map(grad, (v) => -v) : grad;
  if (!isZero(weight_decay)) g = zip2(g, x, (gi, xi) => gi + weight_decay * xi);
  return g;
}

/** torch.optim.SGD: b_1 = g_1, b_t = mu b + (1 - tau) g;  d = g + mu b (nesterov) or b;  x -= lr d */
export function sgd({ lr = 1e-3, momentum = 0, dampening = 0, nesterov = false, weight_decay = 0, maximize = false } = {}) {
  const useMomentum = !isZero(momentum);
  return {
    name: "sgd", hyperparams: { lr, momentum, dampening, nesterov, weight_decay, maximize },
    init: (x) => ({ t: 0, b: useMomentum ? zerosLike(x) : null }),
    update(grad, s, x) {
      const g = prologue(grad, x, maximize, weight_decay);
      let buf = s.b, d = g;
      if (useMomentum) {
        buf = s.t === 0 ? g : zip2(buf, g, (b, gi) => momentum * b + (1 - dampening) * gi);
        d = nesterov ? zip2(g, buf, (gi, b) => gi + momentum * b) : buf;
      }
      const lr_t = lrAt(lr, s.t);
      return [map(d, (v) => -lr_t * v), { t: s.t + 1, b: buf }];
    },
  };
}

/** Plain gradient descent, x_t = x_{t-1} - lr grad: sgd(lr) named "gd". */
export function gd({ lr = 0.1 } = {}) {
  return { ...sgd({ lr }), name: "gd", hyperparams: { lr } };
}

/** Lecture momentum: v_t = beta v - lr g_t,  x += v_t. */
export function momentum({ lr = 0.1, beta = 0.9 } = {}) {
  return {
    name: "momentum", hyperparams: { lr, beta },
    init: (x) => ({ t: 0, v: zerosLike(x) }),
    update(grad, s) {
      const lr_t = lrAt(lr, s.t);
      const v = zip2(s.v, grad, (vi, g) => beta * vi - lr_t * g);
      return [v, { t: s.t + 1, v }];
    },
  };
}

/** Momentum as an EMA: v_t = rho v - (1 - rho) lr g_t,  x += v_t. */
export function ema_momentum({ lr = 0.1, rho = 0.9 } = {}) {
  return {
    name: "ema_momentum", hyperparams: { lr, rho },
    init: (x) => ({ t: 0, v: zerosLike(x) }),
    update(grad, s) {
      const lr_t = lrAt(lr, s.t);
      const v = zip2(s.v, grad, (vi, g) => rho * vi - (1 - rho) * lr_t * g);
      return [v, { t: s.t + 1, v }];
    },
  };
}

/** Polyak's heavy ball: v_{t+1} = -grad + beta v_t,  x += lr v_{t+1}. */
export function heavy_ball({ lr = 0.1, beta = 0.9 } = {}) {
  return {
    name: "heavy_ball", hyperparams: { lr, beta },
    init: (x) => ({ t: 0, v: zerosLike(x) }),
    update(grad, s) {
      const v = zip2(grad, s.v, (g, vi) => -g + beta * vi);
      const lr_t = lrAt(lr, s.t);
      return [map(v, (vi) => lr_t * vi), { t: s.t + 1, v }];
    },
  };
}

/** Look-ahead Nesterov: v = beta v - lr grad f(x + beta v),  x += v (takes the objective). */
export function nesterov(objective, { lr = 0.1, beta = 0.9 } = {}) {
  return {
    name: "nesterov", hyperparams: { lr, beta },
    init: (x) => ({ t: 0, v: zerosLike(x) }),
    update(grad, s, x) {
      const lr_t = lrAt(lr, s.t);
      const ahead = objective.grad(zip2(x, s.v, (xi, vi) => xi + beta * vi));
      const v = zip2(s.v, ahead, (vi, g) => beta * vi - lr_t * g);
      return [v, { t: s.t + 1, v }];
    },
  };
}

/** SGD + history: w_t = w_{t-1} - (lr G_t + tau G_{t-1}),  G_0 = 0. */
export function sgd_history({ lr = 0.1, tau = 0.05 } = {}) {
  return {
    name: "sgd_history", hyperparams: { lr, tau },
    init: (x) => ({ t: 0, g_prev: zerosLike(x) }),
    update(grad, s) {
      const lr_t = lrAt(lr, s.t);
      return [zip2(grad, s.g_prev, (g, gp) => -(lr_t * g + tau * gp)), { t: s.t + 1, g_prev: grad }];
    },
  };
}

/** torch.optim.Adagrad: s_t = s + g^2,  x -= lr/(1 + (t-1) lr_decay) g/(sqrt(s_t) + eps). */
export function adagrad({ lr = 1e-2, lr_decay = 0, weight_decay = 0, initial_accumulator_value = 0, eps = 1e-10,
  maximize = false } = {}) {
  return {
    name: "adagrad", hyperparams: { lr, lr_decay, weight_decay, initial_accumulator_value, eps, maximize },
    init: (x) => ({ t: 0, s: map(x, (v) => v * 0.0 + initial_accumulator_value) }),
    update(grad, st, x) {
      const g = prologue(grad, x, maximize, weight_decay);
      const clr = lrAt(lr, st.t) / (1 + st.t * lr_decay);
      const s = zip2(st.s, g, (a, gi) => a + gi * gi);
      return [zip2(g, s, (gi, si) => -clr * (gi / (Math.sqrt(si) + eps))), { t: st.t + 1, s }];
    },
  };
}

/** Adagrad as the lecture writes it: s_t = s + g^2,  x -= lr g / sqrt(s_t + eps), from s0. */
export function adagrad_lecture({ lr = 0.5, eps = 1e-7, s0 = 0.0 } = {}) {
  return {
    name: "adagrad_lecture", hyperparams: { lr, eps, s0 },
    init: (x) => ({ t: 0, s: map(x, (v) => v * 0.0 + s0) }),
    update(grad, st) {
      const lr_t = lrAt(lr, st.t);
      const s = zip2(st.s, grad, (a, g) => a + g * g);
      return [zip2(grad, s, (g, si) => (-lr_t * g) / Math.sqrt(si + eps)), { t: st.t + 1, s }];
    },
  };
}

/** torch.optim.RMSprop: v_t = alpha v + (1 - alpha) g^2, a = sqrt(v_t [- gbar^2]) + eps,
 *  x -= lr g/a, or with momentum b = mu b + g/a, x -= lr b. */
export function rmsprop({ lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0, centered = false,
  maximize = false } = {}) {
  const useMomentum = !isZero(momentum);
  return {
    name: "rmsprop", hyperparams: { lr, alpha, eps, weight_decay, momentum, centered, maximize },
    init: (x) => ({ t: 0, v: zerosLike(x), g_bar: centered ? zerosLike(x) : null, b: useMomentum ? zerosLike(x) : null }),
    update(grad, st, x) {
      const g = prologue(grad, x, maximize, weight_decay);
      const v = zip2(st.v, g, (a, gi) => alpha * a + (1 - alpha) * (gi * gi));
      let gbar = st.g_bar, avg;
      if (centered) {
        gbar = zip2(st.g_bar, g, (b, gi) => b + (1 - alpha) * (gi - b));
        avg = zip2(v, gbar, (vi, b) => Math.sqrt(vi - b * b) + eps);
      } else {
        avg = map(v, (vi) => Math.sqrt(vi) + eps);
      }
      const lr_t = lrAt(lr, st.t);
      let buf = st.b, step;
      if (useMomentum) {
        buf = zip3(buf, g, avg, (b, gi, a) => momentum * b + gi / a);
        step = map(buf, (b) => -lr_t * b);
      } else {
        step = zip2(g, avg, (gi, a) => -lr_t * (gi / a));
      }
      return [step, { t: st.t + 1, v, g_bar: gbar, b: buf }];
    },
  };
}

/** RMSProp as the lecture writes it: s_t = rho s + (1 - rho) g^2,  x -= lr g / sqrt(s_t + eps). */
export function rmsprop_lecture({ lr = 0.1, rho = 0.9, eps = 1e-7, s0 = 0.0 } = {}) {
  return {
    name: "rmsprop_lecture", hyperparams: { lr, rho, eps, s0 },
    init: (x) => ({ t: 0, s: map(x, (v) => v * 0.0 + s0) }),
    update(grad, st) {
      const s = zip2(st.s, grad, (a, g) => rho * a + (1 - rho) * (g * g));
      const lr_t = lrAt(lr, st.t);
      return [zip2(grad, s, (g, si) => (-lr_t * g) / Math.sqrt(si + eps)), { t: st.t + 1, s }];
    },
  };
}

/** torch.optim.Adadelta: G = rho G + (1 - rho) g^2,  dx = sqrt(u + eps)/sqrt(G + eps) g,
 *  u = rho u + (1 - rho) dx^2,  x -= lr dx. */
export function adadelta({ lr = 1.0, rho = 0.9, eps = 1e-6, weight_decay = 0, maximize = false } = {}) {
  return {
    name: "adadelta", hyperparams: { lr, rho, eps, weight_decay, maximize },
    init: (x) => ({ t: 0, v: zerosLike(x), u: zerosLike(x) }),
    update(grad, st, x) {
      const g = prologue(grad, x, maximize, weight_decay);
      const G = zip2(st.v, g, (a, gi) => rho * a + (1 - rho) * (gi * gi));
      const delta = zip3(st.u, G, g, (u, Gi, gi) => (Math.sqrt(u + eps) / Math.sqrt(Gi + eps)) * gi);
      const u = zip2(st.u, delta, (a, d) => rho * a + (1 - rho) * (d * d));
      const lr_t = lrAt(lr, st.t);
      return [map(delta, (d) => -lr_t * d), { t: st.t + 1, v: G, u }];
    },
  };
}

// torch.optim.Adam / AdamW:
//   m_t = m + (1 - b1)(g - m) (torch's lerp),  v_t = b2 v + (1 - b2) g^2,
//   x -= lr/(1 - b1^t) * m_t / (sqrt(v_t)/sqrt(1 - b2^t) + eps)   [- lr wd x, decoupled]
function adamFamily(name, { lr, betas, eps, weight_decay, amsgrad, maximize }, decoupled) {
  const [b1, b2] = betas;
  const wd = isZero(weight_decay) ? null : weight_decay;
  return {
    name, hyperparams: { lr, betas, eps, weight_decay, amsgrad, maximize },
    init: (x) => ({ t: 0, m: zerosLike(x), v: zerosLike(x), v_max: amsgrad ? zerosLike(x) : null }),
    update(grad, st, x) {
      const t = st.t + 1, lr_t = lrAt(lr, st.t);
      let g = maximize ? map(grad, (v) => -v) : grad, shrink = null;
      if (wd !== null) {
        if (decoupled) shrink = map(x, (xi) => -lr_t * wd * xi);
        else g = zip2(g, x, (gi, xi) => gi + wd * xi);
      }
      const m = zip2(st.m, g, (mi, gi) => mi + (1 - b1) * (gi - mi));
      const v = zip2(st.v, g, (vi, gi) => b2 * vi + (1 - b2) * (gi * gi));
      const v_max = amsgrad ? zip2(st.v_max, v, (a, b) => Math.max(a, b)) : null;
      const bias_correction1 = 1 - Math.pow(b1, t);
      const bias_correction2_sqrt = Math.sqrt(1 - Math.pow(b2, t));
      const denom = map(amsgrad ? v_max : v, (vi) => Math.sqrt(vi) / bias_correction2_sqrt + eps);
      const step = zip2(m, denom, (mi, d) => -(lr_t / bias_correction1) * (mi / d));
      return [shrink ? zip2(shrink, step, (a, b) => a + b) : step, { t, m, v, v_max }];
    },
  };
}

/** torch.optim.Adam (weight_decay as L2 in the gradient; decoupled_weight_decay: AdamW). */
export function adam({ lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weight_decay = 0, amsgrad = false, maximize = false,
  decoupled_weight_decay = false } = {}) {
  return adamFamily("adam", { lr, betas, eps, weight_decay, amsgrad, maximize }, decoupled_weight_decay);
}

/** torch.optim.AdamW: decoupled weight decay, x -= lr wd x besides Adam's step. */
export function adamw({ lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weight_decay = 1e-2, amsgrad = false,
  maximize = false } = {}) {
  return adamFamily("adamw", { lr, betas, eps, weight_decay, amsgrad, maximize }, true);
}

/** Adam as the lectures print it: m, v as Adam; m~ = m or m/(1 - b1^t); v~ = v or v/(1 - b2^t);
 *  x -= lr m~ / (sqrt(v~) + eps), or / sqrt(v~ + eps) with eps_inside. */
export function adam_lecture({ lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, bias_correction = "both",
  eps_inside = false } = {}) {
  const [b1, b2] = betas;
  return {
    name: "adam_lecture", hyperparams: { lr, betas, eps, bias_correction, eps_inside },
    init: (x) => ({ t: 0, m: zerosLike(x), v: zerosLike(x), v_max: null }),
    update(grad, st) {
      const t = st.t + 1;
      const m = zip2(st.m, grad, (mi, g) => b1 * mi + (1 - b1) * g);
      const v = zip2(st.v, grad, (vi, g) => b2 * vi + (1 - b2) * (g * g));
      const m_hat = bias_correction === "none" ? m : map(m, (mi) => mi / (1 - Math.pow(b1, t)));
      const v_hat = bias_correction === "both" ? map(v, (vi) => vi / (1 - Math.pow(b2, t))) : v;
      const denom = map(v_hat, (vi) => (eps_inside ? Math.sqrt(vi + eps) : Math.sqrt(vi) + eps));
      const lr_t = lrAt(lr, st.t);
      return [zip2(m_hat, denom, (mi, d) => (-lr_t * mi) / d), { t, m, v, v_max: null }];
    },
  };
}

// Solve H p = g by Gaussian elimination with partial pivoting, as LAPACK's dgesv does
// (pivot: the first largest |entry| of the column; multipliers by the pivot's reciprocal).
// A singular H gives NaN, which descent.run then flags as a divergence.
function solve(H, g) {
  const n = g.length;
  const A = H.map((row) => row.slice()), b = g.slice();
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(A[i][k]) > Math.abs(A[p][k])) p = i;
    if (A[p][k] === 0 || Number.isNaN(A[p][k])) return b.map(() => NaN);
    if (p !== k) { [A[p], A[k]] = [A[k], A[p]]; [b[p], b[k]] = [b[k], b[p]]; }
    const inv = 1 / A[k][k];
    for (let i = k + 1; i < n; i++) {
      const l = A[i][k] * inv;
      for (let j = k + 1; j < n; j++) A[i][j] = A[i][j] - l * A[k][j];
      b[i] = b[i] - l * b[k];
    }
  }
  const x = new Array(n);
  for (let k = n - 1; k >= 0; k--) {
    let s = b[k];
    for (let j = k + 1; j < n; j++) s = s - A[k][j] * x[j];
    x[k] = s / A[k][k];
  }
  return x;
}

/** Damped Newton: x -= lr (H(x) + damping I)^{-1} grad f(x) (takes the objective). */
export function newton(objective, { lr = 1.0, damping = 0.0 } = {}) {
  return {
    name: "newton", hyperparams: { lr, damping },
    init: () => ({ t: 0 }),
    update(grad, st, x) {
      let H = objective.hessian(x);
      if (!isZero(damping)) H = H.map((row, i) => row.map((h, j) => (i === j ? h + damping * 1.0 : h + damping * 0.0)));
      const lr_t = lrAt(lr, st.t);
      return [map(solve(H, grad), (p) => -lr_t * p), { t: st.t + 1 }];
    },
  };
}

const dot = (a, b) => a.reduce((s, v, i) => (i === 0 ? v * b[0] : s + v * b[i]), 0);

/** Steepest descent with a line search (takes the objective): "exact" a = g.g / g.Hg,
 *  "armijo" backtracking from alpha0 by shrink until f(x - a g) <= f(x) - c a |g|^2. */
export function line_search(objective, { method = "armijo", alpha0 = 1.0, shrink = 0.5, c = 1e-4, max_backtracks = 50 } = {}) {
  return {
    name: "line_search", hyperparams: { method, alpha0, shrink, c },
    init: () => ({ t: 0, alpha: 0.0 }),
    update(grad, st, x) {
      const gg = dot(grad, grad);
      let alpha;
      if (method === "exact") {
        const H = objective.hessian(x);
        const Hg = H.map((row) => dot(row, grad));
        const curv = dot(grad, Hg);
        alpha = curv > 0 ? gg / curv : 0.0;
      } else {
        const fx = objective.f(x);
        alpha = alpha0;
        for (let k = 0; k < max_backtracks; k++) {
          const trial = objective.f(zip2(x, grad, (xi, g) => xi - alpha * g));
          if (trial <= fx - c * alpha * gg) break;
          alpha = alpha * shrink;
        }
      }
      return [map(grad, (g) => -alpha * g), { t: st.t + 1, alpha }];
    },
  };
}

/** The rules by name, and the ones whose factory takes the objective first. */
export const RULES = {
  sgd, gd, momentum, ema_momentum, heavy_ball, nesterov, sgd_history, adagrad, adagrad_lecture, rmsprop,
  rmsprop_lecture, adadelta, adam, adamw, adam_lecture, newton, line_search,
};
export const TAKES_OBJECTIVE = new Set(["nesterov", "newton", "line_search"]);

/** A state field -> the key torch keeps it under, per rule (lib/descent/rules/base.py's table). */
export const TORCH_KEYS = {
  sgd: { b: "momentum_buffer" }, gd: { b: "momentum_buffer" }, adagrad: { s: "sum" }, adagrad_lecture: { s: "sum" },
  rmsprop: { v: "square_avg", g_bar: "grad_avg", b: "momentum_buffer" }, adadelta: { v: "square_avg", u: "acc_delta" },
  adam: { m: "exp_avg", v: "exp_avg_sq", v_max: "max_exp_avg_sq" }, adamw: { m: "exp_avg", v: "exp_avg_sq", v_max: "max_exp_avg_sq" },
  adam_lecture: { m: "exp_avg", v: "exp_avg_sq", v_max: "max_exp_avg_sq" },
};

/** The state field `name` of a rule's state, or the field torch keeps under the key `name`. */
export function stateField(opt, state, name) {
  if (name in state) return state[name];
  const hit = Object.entries(TORCH_KEYS[opt.name] || {}).find(([, key]) => key === name);
  if (!hit) throw new Error(`Invalid state: '${name}' (the state of ${opt.name} has ${Object.keys(state)})`);
  return state[hit[0]];
}
