// Small charts drawn as inline SVG: each is an image with a name (aria-label), a <title> per mark naming its
// figure, and the figure itself in a data attribute, so a screen reader and a test read what the eye sees.
import { formatCount, html } from "./lib.js";

const WIDTH = 320;
const HEIGHT = 120;
const AXIS = 18; // room under the plot for the axis labels

// Bars of `counts` over equal-width bins [edges[i], edges[i+1]); `label(edge)` writes an edge as text.
export function Histogram({ name, edges, counts, label = String }) {
  const top = Math.max(1, ...counts);
  const width = WIDTH / counts.length;
  const plot = HEIGHT - AXIS;
  return html`<svg class="chart" role="img" aria-label=${name} viewBox=${`0 0 ${WIDTH} ${HEIGHT}`}
    data-total=${counts.reduce((sum, count) => sum + count, 0)}>
    <title>${name}</title>
    ${counts.map((count, i) => {
      const height = (count / top) * (plot - 4);
      return html`<rect class="bar" x=${i * width + 0.5} y=${plot - height} width=${Math.max(width - 1, 1)}
        height=${height} data-count=${count} data-from=${edges[i]} data-to=${edges[i + 1]}>
        <title>${`${label(edges[i])} to ${label(edges[i + 1])}: ${formatCount(count)}`}</title></rect>`;
    })}
    <line class="axis" x1="0" x2=${WIDTH} y1=${plot} y2=${plot} />
    <text class="tick" x="0" y=${HEIGHT - 4}>${label(edges[0])}</text>
    <text class="tick" x=${WIDTH} y=${HEIGHT - 4} text-anchor="end">${label(edges[edges.length - 1])}</text>
  </svg>`;
}

// Horizontal bars, one per {value, count}, longest first as given.
export function TopValues({ name, values, total }) {
  const top = Math.max(1, ...values.map((v) => v.count));
  const row = 18;
  const labels = 110;
  const height = values.length * row;
  return html`<svg class="chart" role="img" aria-label=${name} viewBox=${`0 0 ${WIDTH} ${height}`}
    style=${`height: ${height}px`}>
    <title>${name}</title>
    ${values.map((item, i) => {
      const text = item.value === null ? "(null)" : item.value;
      const share = total ? ` (${((100 * item.count) / total).toFixed(1)} %)` : "";
      return html`<g class="top-value" data-value=${text} data-count=${item.count}>
        <title>${`${text}: ${formatCount(item.count)}${share}`}</title>
        <text class="label" x=${labels - 6} y=${i * row + 13} text-anchor="end">${clip(text, 16)}</text>
        <rect class="bar" x=${labels} y=${i * row + 3} height=${row - 6}
          width=${Math.max(((WIDTH - labels - 50) * item.count) / top, 1)} />
        <text class="figure" x=${labels + ((WIDTH - labels - 50) * item.count) / top + 4} y=${i * row + 13}>
          ${formatCount(item.count)}</text>
      </g>`;
    })}
  </svg>`;
}

// A line through `points` ({at: ISO time, value: 0..1}, oldest first): a rate over time, with a dot per point.
export function RateOverTime({ name, points }) {
  const height = 64;
  const plot = height - AXIS;
  const top = Math.max(0.01, ...points.map((p) => p.value ?? 0));
  const x = (i) => (points.length === 1 ? WIDTH / 2 : 6 + (i * (WIDTH - 12)) / (points.length - 1));
  const y = (value) => plot - 4 - ((value ?? 0) / top) * (plot - 10);
  const path = points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
  return html`<svg class="chart" role="img" aria-label=${name} viewBox=${`0 0 ${WIDTH} ${height}`}
    style=${`height: ${height}px`}>
    <title>${name}</title>
    <line class="axis" x1="0" x2=${WIDTH} y1=${plot} y2=${plot} />
    <path class="line" d=${path} />
    ${points.map((p, i) => html`<circle class="point" cx=${x(i)} cy=${y(p.value)} r="3" data-at=${p.at}
      data-value=${p.value ?? ""}><title>${`${p.at.slice(0, 16).replace("T", " ")}: ${percent(p.value)}`}</title>
      </circle>`)}
    <text class="tick" x="0" y=${height - 4}>${points.length ? points[0].at.slice(0, 10) : ""}</text>
    <text class="tick" x=${WIDTH} y=${height - 4} text-anchor="end">latest ${percent(points.length ? points[points.length - 1].value : null)}</text>
  </svg>`;
}

export function percent(rate) {
  return rate === null || rate === undefined ? "–" : `${(100 * rate).toFixed(rate && rate < 0.001 ? 3 : 1)} %`;
}

function clip(text, most) {
  return text.length > most ? `${text.slice(0, most - 1)}…` : text;
}
