// Draw a panel's moving artists on a canvas laid over its matplotlib background, in the
// book's style: the artist table (line widths and marker sizes in points, colours,
// zorders) is the one the kernel's matplotlib panel uses; the axes' boxes and limits are
// the ones matplotlib drew the background with.  Everything is drawn in CSS pixels of the
// figure, scaled to the canvas's size and to devicePixelRatio, so it stays sharp.

import { format } from "./format.js";

const FONT = '"DejaVu Sans", "Bitstream Vera Sans", Verdana, Arial, sans-serif';
const MONO = '"DejaVu Sans Mono", "Bitstream Vera Sans Mono", Menlo, Consolas, monospace';
const DASHES = { "--": [3.7, 1.6], ":": [1, 1.65], "-.": [6.4, 1.6, 1, 1.6] };
const NAMED = { k: "#000000", white: "#ffffff", crimson: "#dc143c" };
const color = (c) => NAMED[c] || c;

/** Data -> CSS pixel transforms of one axes: {x, y, box}. */
export function transform(axes, limits) {
  const [L, T, W, H] = axes.box;
  const [[x0, x1], [y0, y1]] = limits;
  const f = (scale, a, b) => (scale === "log"
    ? (v) => (v > 0 ? (Math.log10(v) - Math.log10(a)) / (Math.log10(b) - Math.log10(a)) : NaN)
    : (v) => (v - a) / (b - a));
  const fx = f(axes.xscale, x0, x1), fy = f(axes.yscale, y0, y1);
  return { x: (v) => L + fx(v) * W, y: (v) => T + H - fy(v) * H, box: [L, T, W, H] };
}

// clip the segment p-q to the rectangle r (Liang-Barsky); null if it misses
function clipSegment(p, q, [xmin, ymin, xmax, ymax]) {
  let t0 = 0, t1 = 1;
  const dx = q[0] - p[0], dy = q[1] - p[1];
  for (const [pk, qk] of [[-dx, p[0] - xmin], [dx, xmax - p[0]], [-dy, p[1] - ymin], [dy, ymax - p[1]]]) {
    if (pk === 0) { if (qk < 0) return null; continue; }
    const r = qk / pk;
    if (pk < 0) { if (r > t1) return null; if (r > t0) t0 = r; } else { if (r < t0) return null; if (r < t1) t1 = r; }
  }
  return [[p[0] + t0 * dx, p[1] + t0 * dy], [p[0] + t1 * dx, p[1] + t1 * dy]];
}

function drawLine(ctx, st, d, tr, pt) {
  const xs = d.x || [], ys = d.y || [];
  const pts = xs.map((x, i) => [tr.x(x), tr.y(ys[i])]);
  const ok = (p) => Number.isFinite(p[0]) && Number.isFinite(p[1]);
  const [L, T, W, H] = tr.box, m = 50;
  const rect = [L - m, T - m, L + W + m, T + H + m];
  const c = color(d.color || st.color || "k");
  ctx.save();
  ctx.beginPath();
  ctx.rect(L, T, W, H);
  ctx.clip();
  ctx.globalAlpha = st.alpha ?? 1;
  const ls = d.ls ?? st.ls ?? "-";  // a scene may restyle a line (a rule's family style)
  if (ls !== "none" && ls !== "") {
    const lw = (st.lw ?? 1.5) * pt;
    ctx.lineWidth = lw;
    ctx.strokeStyle = c;
    ctx.lineJoin = "round";
    ctx.lineCap = ls === "-" ? "square" : "butt";
    ctx.setLineDash(DASHES[ls] ? DASHES[ls].map((v) => v * lw) : []);
    ctx.beginPath();
    let down = false; // one polyline until a NaN or the clip rectangle breaks it (dashes run on)
    for (let i = 1; i < pts.length; i++) {
      const seg = ok(pts[i - 1]) && ok(pts[i]) ? clipSegment(pts[i - 1], pts[i], rect) : null;
      if (!seg) { down = false; continue; }
      const [[ax, ay], [bx, by]] = seg;
      if (!down || ax !== pts[i - 1][0] || ay !== pts[i - 1][1]) ctx.moveTo(ax, ay);
      ctx.lineTo(bx, by);
      down = bx === pts[i][0] && by === pts[i][1];
    }
    ctx.stroke();
    ctx.setLineDash([]);
  }
  if (st.marker) {
    const ms = (st.ms ?? 6) * pt, mew = (st.mew ?? 1.0) * pt;
    const edge = color(st.mec || c);
    for (const p of pts) {
      if (!ok(p) || p[0] < rect[0] || p[0] > rect[2] || p[1] < rect[1] || p[1] > rect[3]) continue;
      ctx.beginPath();
      if (st.marker === "x") {
        const r = ms / 2;
        ctx.moveTo(p[0] - r, p[1] - r); ctx.lineTo(p[0] + r, p[1] + r);
        ctx.moveTo(p[0] - r, p[1] + r); ctx.lineTo(p[0] + r, p[1] - r);
        ctx.lineWidth = mew; ctx.strokeStyle = c; ctx.lineCap = "butt"; ctx.stroke();
      } else {
        const r = st.marker === "." ? ms / 4 : ms / 2;
        ctx.arc(p[0], p[1], r, 0, 2 * Math.PI);
        ctx.fillStyle = c; ctx.fill();
        ctx.lineWidth = mew; ctx.strokeStyle = edge; ctx.stroke();
      }
    }
  }
  ctx.restore();
  let end = null;
  for (let i = pts.length - 1; i >= 0; i--) if (ok(pts[i])) { end = pts[i]; break; }
  return { end, color: c };
}

function drawText(ctx, st, d, tr, axes, pt) {
  const text = d.text || "";
  if (!text) return null;
  const size = (st.size ?? 10) * pt;
  ctx.save();
  ctx.font = `${st.weight === "bold" ? "bold " : ""}${size}px ${st.family === "mono" ? MONO : FONT}`;
  const lines = text.split("\n"), lh = size * (st.linespacing ?? 1.2);
  const widths = lines.map((l) => ctx.measureText(l).width);
  const w = Math.max(...widths), h = lh * (lines.length - 1) + size;
  const [L, T, W, H] = axes.box;
  const [ax, ay] = d.xy || st.xy || [0, 0];
  const x = (st.coords ?? "axes") === "axes" ? L + ax * W : tr.x(ax);
  const y = (st.coords ?? "axes") === "axes" ? T + (1 - ay) * H : tr.y(ay);
  const ha = st.ha ?? "left", va = st.va ?? "baseline";
  const left = ha === "right" ? x - w : ha === "center" ? x - w / 2 : x;
  const top = va === "top" ? y : va === "bottom" ? y - h : va === "center" ? y - h / 2 : y - size * 0.8;
  if (st.box) {
    const pad = (st.box.pad ?? 0.2) * size;
    ctx.globalAlpha = st.box.alpha ?? 1;
    ctx.beginPath();
    if (ctx.roundRect) ctx.roundRect(left - pad, top - pad, w + 2 * pad, h + 2 * pad, pad);
    else ctx.rect(left - pad, top - pad, w + 2 * pad, h + 2 * pad);
    ctx.fillStyle = color(st.box.fc); ctx.fill();
    ctx.lineWidth = pt; ctx.strokeStyle = color(st.box.ec); ctx.stroke();
    ctx.globalAlpha = 1;
  }
  ctx.fillStyle = color(st.color || "k");
  ctx.textBaseline = "top";
  lines.forEach((l, i) => {
    const lx = ha === "right" ? left + w - widths[i] : ha === "center" ? left + (w - widths[i]) / 2 : left;
    ctx.fillText(l, lx, top + i * lh);
  });
  ctx.restore();
  return { box: [left, top, w, h] };
}

function drawLegend(ctx, d, axes, font, pt) {
  const fs = font.legend;
  ctx.save();
  ctx.font = `${fs}px ${FONT}`;
  const entries = d.entries || [];
  const tw = Math.max(0, ...entries.map(([label]) => ctx.measureText(label).width));
  const [L, T, W] = axes.box;
  const right = L + W - (0.5 + 0.4) * fs, hl = 2.0 * fs, gap = 0.8 * fs, row = fs * 1.2 + 0.5 * fs;
  const left = right - tw - gap - hl;
  entries.forEach(([label, c, ls], i) => {
    const y = T + (0.5 + 0.4) * fs + i * row + fs * 0.6;
    ctx.strokeStyle = color(c); ctx.lineWidth = 2 * pt; ctx.lineCap = "butt";
    ctx.setLineDash(DASHES[ls] ? DASHES[ls].map((v) => v * 2 * pt) : []);
    ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(left + hl, y); ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = "#000000"; ctx.textBaseline = "middle";
    ctx.fillText(label, left + hl + gap, y);
  });
  ctx.restore();
}

function drawTicks(ctx, axes, tr, ticks, font, pt) {
  const [L, T, W, H] = axes.box;
  ctx.save();
  ctx.font = `${font.tick}px ${FONT}`;
  for (const [pos, label] of ticks) {
    const y = tr.y(pos);
    if (!(y >= T - 0.5 && y <= T + H + 0.5)) continue;
    ctx.globalAlpha = font.grid_alpha;
    ctx.strokeStyle = color(font.grid_color); ctx.lineWidth = font.grid_width * pt;
    ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(L + W, y); ctx.stroke();
    ctx.globalAlpha = 1;
    ctx.strokeStyle = "#000000"; ctx.lineWidth = font.tick_width * pt;
    ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(L - font.tick_length * pt, y); ctx.stroke();
    ctx.fillStyle = "#000000"; ctx.textAlign = "right"; ctx.textBaseline = "middle";
    ctx.fillText(label, L - (font.tick_length + font.tick_pad) * pt, y);
  }
  ctx.restore();
}

/** Draw `scene` (name -> data) with the panel's `spec` on `canvas`, the axes at `limits`.
 *  Returns {name: {end: [x, y] in CSS pixels of the figure, color}} for the lines. */
export function draw(canvas, spec, scene, limits) {
  const fig = spec.figure, pt = fig.css_dpi / 72;
  const shown = canvas.getBoundingClientRect ? canvas.getBoundingClientRect().width : 0;
  const scale = shown > 0 ? shown / fig.width : 1;
  const dpr = (typeof window !== "undefined" && window.devicePixelRatio) || 1;
  const wpx = Math.round(fig.width * scale * dpr), hpx = Math.round(fig.height * scale * dpr);
  if (canvas.width !== wpx || canvas.height !== hpx) { canvas.width = wpx; canvas.height = hpx; }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.setTransform(wpx / fig.width, 0, 0, hpx / fig.height, 0, 0);
  const trs = fig.axes.map((a, i) => transform(a, limits[i]));
  for (const [i, table] of Object.entries(fig.ticks || {})) {
    const top = limits[i][1][1];
    const ticks = table[format(top, "")];
    if (ticks) drawTicks(ctx, fig.axes[i], trs[i], ticks, spec.font, pt);
  }
  const order = Object.entries(spec.artists).map(([name, st], k) => [name, st, k])
    .sort((a, b) => ((a[1].zorder ?? 2) - (b[1].zorder ?? 2)) || a[2] - b[2]);
  const drawn = {};
  for (const [name, st] of order) {
    const d = scene[name];
    if (!d || d.visible === false || st.type === "pre") continue; // a table is an HTML <pre>: page.js
    const tr = trs[st.axes], axes = fig.axes[st.axes];
    if (st.type === "line") drawn[name] = drawLine(ctx, st, d, tr, pt);
    else if (st.type === "text") drawn[name] = drawText(ctx, st, d, tr, axes, pt);
    else if (st.type === "legend") drawLegend(ctx, d, axes, spec.font, pt);
    else if (st.type === "span") {
      const [, T, , H] = axes.box;
      const x0 = tr.x(d.x0), x1 = tr.x(d.x1);
      ctx.save(); ctx.beginPath(); ctx.rect(...axes.box); ctx.clip();
      ctx.globalAlpha = st.alpha ?? 1; ctx.fillStyle = color(st.color); ctx.fillRect(x0, T, x1 - x0, H);
      ctx.restore();
    } else if (st.type === "stairs") {
      const [lo, hi, n] = st.edges, v = d.values;
      ctx.save(); ctx.beginPath(); ctx.rect(...axes.box); ctx.clip();
      ctx.beginPath(); ctx.moveTo(tr.x(lo), tr.y(0));
      for (let i = 0; i < n; i++) {
        const a = lo + (hi - lo) * i / n, b = lo + (hi - lo) * (i + 1) / n;
        ctx.lineTo(tr.x(a), tr.y(v[i])); ctx.lineTo(tr.x(b), tr.y(v[i]));
      }
      ctx.lineTo(tr.x(hi), tr.y(0)); ctx.closePath();
      ctx.fillStyle = color(st.color); ctx.fill();
      ctx.restore();
    }
  }
  return drawn;
}
