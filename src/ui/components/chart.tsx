/** A small inline-SVG chart: bars (one series) over time with a line (another series) on its own scale. */
export interface Point {
  at: number;
  bar: number;
  line: number;
  tone?: 'ok' | 'bad';
}

export function BarLineChart({ points, barLabel, lineLabel, title, barFormat = String, lineFormat = String }: {
  points: Point[];
  barLabel: string;
  lineLabel: string;
  title: string;
  barFormat?: (n: number) => string;
  lineFormat?: (n: number) => string;
}) {
  const W = 720;
  const H = 200;
  const pad = { l: 56, r: 56, t: 12, b: 28 };
  const iw = W - pad.l - pad.r;
  const ih = H - pad.t - pad.b;
  if (!points.length) return <p class="muted">Nothing to chart.</p>;
  const sorted = [...points].sort((a, b) => a.at - b.at);
  const maxBar = Math.max(1, ...sorted.map((p) => p.bar));
  const maxLine = Math.max(1, ...sorted.map((p) => p.line));
  const slot = iw / sorted.length;
  const bw = Math.max(2, Math.min(28, slot * 0.7));
  const x = (i: number) => pad.l + slot * i + slot / 2;
  const yb = (v: number) => pad.t + ih - (v / maxBar) * ih;
  const yl = (v: number) => pad.t + ih - (v / maxLine) * ih;
  const line = sorted.map((p, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${yl(p.line).toFixed(1)}`).join(' ');
  const first = new Date(sorted[0]!.at).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
  const last = new Date(sorted[sorted.length - 1]!.at).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}: ${sorted.length} points; bars ${barLabel} up to ${barFormat(maxBar)}, line ${lineLabel} up to ${lineFormat(maxLine)}`}>
        <line x1={pad.l} x2={W - pad.r} y1={pad.t + ih} y2={pad.t + ih} class="axis" />
        {[0.5, 1].map((f) => (
          <line key={f} x1={pad.l} x2={W - pad.r} y1={pad.t + ih - f * ih} y2={pad.t + ih - f * ih} class="gridline" />
        ))}
        <text x={pad.l - 6} y={pad.t + 10} class="tick" text-anchor="end">
          {barFormat(maxBar)}
        </text>
        <text x={pad.l - 6} y={pad.t + ih} class="tick" text-anchor="end">
          0
        </text>
        <text x={W - pad.r + 6} y={pad.t + 10} class="tick tick-line">
          {lineFormat(maxLine)}
        </text>
        {sorted.map((p, i) => (
          <rect key={i} x={x(i) - bw / 2} y={yb(p.bar)} width={bw} height={Math.max(0, pad.t + ih - yb(p.bar))} class={`bar bar-${p.tone ?? 'ok'}`}>
            <title>{`${new Date(p.at).toLocaleString()}: ${barLabel} ${barFormat(p.bar)}, ${lineLabel} ${lineFormat(p.line)}`}</title>
          </rect>
        ))}
        <path d={line} class="line" />
        <text x={pad.l} y={H - 8} class="tick">
          {first}
        </text>
        <text x={W - pad.r} y={H - 8} class="tick" text-anchor="end">
          {last}
        </text>
      </svg>
      <figcaption class="small muted">
        <span class="key key-bar" aria-hidden="true" /> {barLabel} (left scale) <span class="key key-line" aria-hidden="true" /> {lineLabel} (right scale)
      </figcaption>
    </figure>
  );
}
