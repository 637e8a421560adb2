// charts.js — small SVG charts built with DOM calls (no library, nothing inline for the CSP).
// Every chart is an image with a text alternative; pages show the same figures in a table.
import { h } from './ui.js';

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// Horizontal bars: data = [{label, value (Number or BigInt-able string), text}].
export function barChart(data, { title, format = String }) {
  const max = data.reduce((m, d) => (BigInt(d.value) > m ? BigInt(d.value) : m), 0n);
  const rowH = 28, labelW = 170, barW = 300, width = labelW + barW + 130;
  const height = Math.max(1, data.length) * rowH + 10;
  // drawn at its natural size (width) and only ever scaled down, so that text stays legible
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width, class: 'chart chart-bars', role: 'img', 'aria-label': title });
  svg.append(s('title', {}, title));
  data.forEach((d, i) => {
    const y = i * rowH + 5;
    const w = max > 0n ? Number((BigInt(d.value) * BigInt(barW)) / max) : 0;
    const label = d.label.length > 22 ? `${d.label.slice(0, 21)}…` : d.label;
    svg.append(
      s('text', { x: labelW - 8, y: y + rowH / 2 + 1, class: 'c-label', 'text-anchor': 'end', 'dominant-baseline': 'middle' }, label),
      s('rect', { x: labelW, y: y + 4, width: Math.max(w, BigInt(d.value) > 0n ? 2 : 0), height: rowH - 10, class: `c-bar c-bar-${i % 6}`, rx: 2 }),
      s('text', { x: labelW + w + 6, y: y + rowH / 2 + 1, class: 'c-value', 'dominant-baseline': 'middle' }, format(d.value)));
  });
  return h('figure.chart-wrap', svg);
}

// Vertical columns over time: data = [{label, value}], e.g. months.
export function columnChart(data, { title, format = String }) {
  const max = data.reduce((m, d) => (BigInt(d.value) > m ? BigInt(d.value) : m), 0n);
  const colW = 72, plotH = 200, top = 24, bottom = 40, left = 10;
  const width = Math.max(1, data.length) * colW + left * 2;
  const svg = s('svg', { viewBox: `0 0 ${width} ${plotH + top + bottom}`, width, class: 'chart chart-columns', role: 'img', 'aria-label': title });
  svg.append(s('title', {}, title), s('line', { x1: 0, x2: width, y1: top + plotH, y2: top + plotH, class: 'c-axis' }));
  data.forEach((d, i) => {
    const hgt = max > 0n ? Number((BigInt(d.value) * BigInt(plotH)) / max) : 0;
    const x = left + i * colW;
    svg.append(
      s('rect', { x: x + 8, y: top + plotH - hgt, width: colW - 16, height: hgt, class: 'c-bar c-bar-0', rx: 2 }),
      s('text', { x: x + colW / 2, y: top + plotH + 16, class: 'c-label', 'text-anchor': 'middle' }, d.label),
      s('text', { x: x + colW / 2, y: top + plotH - hgt - 6, class: 'c-value c-small', 'text-anchor': 'middle' }, format(d.value)));
  });
  return h('figure.chart-wrap', svg);
}

// A line over time with values 0..1 (utilisation): data = [{label, value}].
export function lineChart(data, { title }) {
  const plotH = 180, top = 16, bottom = 36, left = 44, step = 22;
  const width = left + Math.max(1, data.length) * step + 16;
  const svg = s('svg', { viewBox: `0 0 ${width} ${plotH + top + bottom}`, class: 'chart chart-line', role: 'img', 'aria-label': title });
  svg.append(s('title', {}, title));
  // the scale rises to the busiest day (rounded up to a step of 1, 2 or 5), so that low
  // utilisation still shows its shape; never above 100 %
  const peak = Math.max(0.01, ...data.map((d) => d.value));
  const mag = 10 ** Math.floor(Math.log10(peak));
  const top1 = Math.min(1, [1, 2, 5, 10].map((m) => m * mag).find((m) => m >= peak));
  for (const p of [0, 0.5, 1]) {
    const y = top + plotH - p * plotH;
    svg.append(s('line', { x1: left, x2: width, y1: y, y2: y, class: 'c-grid' }),
      s('text', { x: left - 6, y, class: 'c-label c-small', 'text-anchor': 'end', 'dominant-baseline': 'middle' }, `${Math.round(p * top1 * 1000) / 10} %`));
  }
  const pts = data.map((d, i) => `${left + i * step + step / 2},${top + plotH - (Math.min(top1, d.value) / top1) * plotH}`);
  svg.append(s('polyline', { points: pts.join(' '), class: 'c-line', fill: 'none' }));
  data.forEach((d, i) => {
    if (i % 5 === 0) svg.append(s('text', { x: left + i * step + step / 2, y: top + plotH + 16, class: 'c-label c-small', 'text-anchor': 'middle' }, d.label));
  });
  return h('figure.chart-wrap', svg);
}
