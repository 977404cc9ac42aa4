// The JavaScript twin of descent, as one module: what tests and the page import.

export { bias_corrected, ema, ema_weights, effective_window } from "./averages.js";
export { draw, transform } from "./draw.js";
export { format, subscript } from "./format.js";
export { OBJECTIVES } from "./functions.js";
export { KINDS, linearRate } from "./kinds.js";
export { mount, mountAll } from "./page.js";
export { RULES, TAKES_OBJECTIVE, TORCH_KEYS, stateField } from "./rules.js";
export { run } from "./run.js";
export { SCHEDULES, lrAt } from "./schedules.js";
export { evaluate } from "./spec.js";
