// Learning-rate schedules of descent.schedules: functions t -> lr, t counting updates from 0.
// Each repeats the Python schedule's arithmetic in the same order (integer division is
// Math.floor of non-negative integers, exact); NumPy's ** and cos are Math.pow and Math.cos,
// which may differ from them in the last bit.

/** The learning rate for the update after t completed updates (a number or a schedule). */
export function lrAt(lr, t) {
  return typeof lr === "function" ? lr(t) : lr;
}

const named = (name, params, fn) => Object.assign(fn, { scheduleName: name, params });
const ceilSteps = (t, k0, s) => Math.max(0, -Math.floor((k0 - t) / s));

/** lr at every step. */
export function constant({ lr }) {
  return named("constant", { lr }, () => lr);
}

/** torch StepLR: lr * gamma^floor(t / step_size). */
export function step_lr({ lr, step_size, gamma = 0.1 }) {
  return named("step_lr", { lr, step_size, gamma }, (t) => lr * Math.pow(gamma, Math.floor(t / step_size)));
}

/** torch MultiStepLR: lr * gamma^(number of milestones <= t). */
export function multi_step_lr({ lr, milestones, gamma = 0.1 }) {
  const ms = [...milestones].sort((a, b) => a - b);
  return named("multi_step_lr", { lr, milestones: ms, gamma }, (t) => lr * Math.pow(gamma, ms.filter((m) => m <= t).length));
}

/** torch ExponentialLR: lr * gamma^t. */
export function exponential_lr({ lr, gamma }) {
  return named("exponential_lr", { lr, gamma }, (t) => lr * Math.pow(gamma, t));
}

/** torch CosineAnnealingLR: eta_min + (lr - eta_min)(1 + cos(pi t / T_max)) / 2 (not clamped). */
export function cosine_annealing_lr({ lr, T_max, eta_min = 0.0 }) {
  return named("cosine_annealing_lr", { lr, T_max, eta_min },
    (t) => eta_min + (lr - eta_min) * (1 + Math.cos(Math.PI * t / T_max)) / 2);
}

/** torch LinearLR: lr * (s + (e - s) min(t, T) / T). */
export function linear_lr({ lr, start_factor = 1.0 / 3, end_factor = 1.0, total_iters = 5 }) {
  return named("linear_lr", { lr, start_factor, end_factor, total_iters },
    (t) => lr * (start_factor + (end_factor - start_factor) * Math.min(total_iters, t) / total_iters));
}

/** Step decay: lr / divide_by^floor(t / every). */
export function step_decay({ lr, every, divide_by }) {
  return named("step_decay", { lr, every, divide_by }, (t) => lr / Math.pow(divide_by, Math.floor(t / every)));
}

/** lr * gamma^max(0, ceil((t - k0)/s)). */
export function exponential_decay({ lr, gamma, k0 = 0, s = 1 }) {
  return named("exponential_decay", { lr, gamma, k0, s }, (t) => lr * Math.pow(gamma, ceilSteps(t, k0, s)));
}

/** lr / (1 + max(0, ceil((t - k0)/s))). */
export function inverse_time_decay({ lr, k0 = 0, s = 1 }) {
  return named("inverse_time_decay", { lr, k0, s }, (t) => lr / (1 + ceilSteps(t, k0, s)));
}

/** lr * decay_rate^(t / decay_steps), the exponent floored with staircase. */
export function power_decay({ lr, decay_rate, decay_steps, staircase = false }) {
  return named("power_decay", { lr, decay_rate, decay_steps, staircase }, (t) => {
    const e = staircase ? Math.floor(t / decay_steps) : t / decay_steps;
    return lr * Math.pow(decay_rate, e);
  });
}

/** Linear warm-up from start_factor*lr to lr over warmup_steps, then a cosine to eta_min at total_steps. */
export function warmup_cosine({ lr, warmup_steps, total_steps, eta_min = 0.0, start_factor = 0.0 }) {
  return named("warmup_cosine", { lr, warmup_steps, total_steps, eta_min, start_factor }, (t) => {
    if (t < warmup_steps) return lr * (start_factor + (1 - start_factor) * t / Math.max(warmup_steps, 1));
    const frac = Math.min(Math.max((t - warmup_steps) / (total_steps - warmup_steps), 0.0), 1.0);
    return eta_min + (lr - eta_min) * (1 + Math.cos(Math.PI * frac)) / 2;
  });
}

/** lr / (t + offset)^power (Robbins-Monro for 1/2 < power <= 1). */
export function robbins_monro({ lr, power = 1.0, offset = 1.0 }) {
  return named("robbins_monro", { lr, power, offset }, (t) => lr / Math.pow(t + offset, power));
}

export const SCHEDULES = {
  constant, step_lr, multi_step_lr, exponential_lr, cosine_annealing_lr, linear_lr, step_decay, exponential_decay,
  inverse_time_decay, power_decay, warmup_cosine, robbins_monro,
};
