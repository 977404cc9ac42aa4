// Python's format(value, spec) for the specs the panels print: [[fill]align][sign][width]
// [.precision][type] with type f, e, g, d, s or none.  Floats are rounded exactly as Python
// does (the exact decimal value of the double, ties to even), so a table printed by the
// page has the same digits as the one printed by the kernel.

const SPEC = /^(?:(.)?([<>^=]))?([+\- ])?(\d+)?(?:\.(\d+))?([efgds%])?$/;

// n significant digits of |x| (x finite, non-zero), rounded half to even on its exact value:
// {digits, exp} with |x| ~= digits[0].digits[1..] x 10^exp
function roundSig(x, n) {
  const s = Math.abs(x).toExponential(100); // exact for the numbers a panel prints
  const [mant, e] = s.split("e");
  const all = mant.replace(".", "");
  let exp = Number(e);
  if (n <= 0) {
    // rounds to 0 or to one unit at the first dropped place
    const up = n === 0 && (all[0] > "5" || (all[0] === "5" && /[1-9]/.test(all.slice(1))));
    return up ? { digits: "1", exp: exp + 1 } : { digits: "", exp };
  }
  const keep = all.slice(0, n).padEnd(n, "0"), rest = all.slice(n);
  let up = false;
  if (rest.length && rest[0] > "5") up = true;
  else if (rest.length && rest[0] === "5") up = /[1-9]/.test(rest.slice(1)) || Number(keep[keep.length - 1]) % 2 === 1;
  if (!up) return { digits: keep, exp };
  const arr = keep.split("").map(Number);
  let i = arr.length - 1;
  while (i >= 0 && arr[i] === 9) { arr[i] = 0; i--; }
  if (i < 0) { arr.unshift(1); arr.pop(); exp += 1; } else arr[i] += 1;
  return { digits: arr.join(""), exp };
}

// the decimal exponent of |x|'s first significant digit (from its exact digits)
const exponentOf = (x) => Number(Math.abs(x).toExponential(100).split("e")[1]);

function fixed(x, p) {
  if (x === 0) return p > 0 ? "0." + "0".repeat(p) : "0";
  const e = exponentOf(x);
  const r = roundSig(x, e + 1 + p);
  if (!r.digits) return p > 0 ? "0." + "0".repeat(p) : "0";
  // digits d1..dn with the first at 10^r.exp; n = r.exp + 1 + p (after a carry, one more digit place)
  const need = r.exp + 1 + p;
  let digits = r.digits.padEnd(need, "0").slice(0, need);
  if (r.exp < 0) digits = "0".repeat(-r.exp) + digits;
  const ip = digits.length - p;
  const intPart = digits.slice(0, ip) || "0", frac = digits.slice(ip);
  return p > 0 ? `${intPart}.${frac}` : intPart;
}

function expo(x, p) {
  if (x === 0) return (p > 0 ? "0." + "0".repeat(p) : "0") + "e+00";
  const r = roundSig(x, p + 1);
  const m = p > 0 ? `${r.digits[0]}.${r.digits.slice(1)}` : r.digits[0];
  const a = Math.abs(r.exp);
  return `${m}e${r.exp < 0 ? "-" : "+"}${a < 10 ? "0" : ""}${a}`;
}

function general(x, p) {
  p = p === 0 ? 1 : p;
  if (x === 0) return "0";
  const r = roundSig(x, p);
  const X = r.exp;
  let s;
  if (X >= -4 && X < p) s = fixed(Math.abs(x), Math.max(p - 1 - X, 0));
  else s = expo(Math.abs(x), p - 1);
  // no '#': drop trailing zeros of the fraction, and a bare point
  return s.replace(/(\.\d*?)0+(e|$)/, "$1$2").replace(/\.(e|$)/, "$1");
}

// Python's repr of a float: the shortest digits that round-trip, Python's exponent style
function repr(x) {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return (Object.is(x, -0) ? "-" : "") + Math.abs(x).toFixed(1);
  const e = exponentOf(x);
  if (e < -4 || e >= 16) { // shortest digits, in Python's exponent style (1e-05, 1.5e+16)
    const [mm, ee] = x.toExponential().split("e");
    const n = Number(ee);
    return `${mm}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
  }
  return String(x);
}

/** format(value, spec) as Python. */
export function format(value, spec = "") {
  const m = SPEC.exec(spec);
  if (!m) throw new Error(`Invalid format spec: '${spec}'`);
  const [, fill = " ", align0, sign = "-", width = "0", prec, type] = m;
  let body, neg = false;
  if (typeof value === "string" || type === "s") {
    body = String(value);
  } else if (type === "d") {
    if (!Number.isInteger(value)) throw new Error(`Unknown format code 'd' for a float: ${value}`);
    neg = value < 0; body = String(Math.abs(value));
  } else {
    const x = Number(value);
    neg = x < 0 || Object.is(x, -0);
    const a = Math.abs(x);
    if (Number.isNaN(x)) { body = "nan"; neg = false; }
    else if (!Number.isFinite(x)) body = "inf";
    else if (type === "f") body = fixed(a, prec === undefined ? 6 : Number(prec));
    else if (type === "e") body = expo(a, prec === undefined ? 6 : Number(prec));
    else if (type === "g") body = general(a, prec === undefined ? 6 : Number(prec));
    else if (type === "%") body = fixed(a * 100, prec === undefined ? 6 : Number(prec)) + "%";
    else body = prec === undefined ? repr(a) : general(a, Number(prec));
  }
  const signText = neg ? "-" : sign === "+" ? "+" : sign === " " ? " " : "";
  const isNumber = typeof value !== "string" && type !== "s";
  const align = align0 || (isNumber ? ">" : "<");
  let text = signText + body;
  const w = Number(width);
  if (text.length < w) {
    const pad = w - text.length;
    if (align === "<") text = text + fill.repeat(pad);
    else if (align === "^") text = fill.repeat(Math.floor(pad / 2)) + text + fill.repeat(Math.ceil(pad / 2));
    else if (align === "=") text = signText + fill.repeat(pad) + body;
    else text = fill.repeat(pad) + text;
  }
  return text;
}

/** Digits as Unicode subscripts (x₂₉), as the panels label an iterate. */
export function subscript(n) {
  return String(n).replace(/[0-9-]/g, (c) => "₀₁₂₃₄₅₆₇₈₉"[c] ?? "₋");
}
