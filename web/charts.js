// charts.js: the charts, drawn with Chart.js (vendor/chart.umd.min.js, put
// there by vendor.sh; it defines window.Chart). Every chart also has its
// numbers as a table next to it, for screen readers and for copying.

export const COLOURS = {
  agree: '#2e7d32',
  disagree: '#c62828',
  neutral: '#9e9e9e',
  series: ['#1a5fb4', '#e66100', '#26a269', '#9141ac', '#c01c28', '#986a44', '#2ec27e', '#f5c211', '#63452c', '#3584e4'],
};

export function chartLib() {
  return window.Chart || null;
}

const live = new Map(); // canvas -> chart, so a redraw or sign-out frees them

export function destroyCharts(root = document) {
  for (const [canvas, chart] of live) {
    if (root === document || root.contains(canvas)) {
      chart.destroy();
      live.delete(canvas);
    }
  }
}

function reducedMotion() {
  return window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
}

// A chart on `canvas`; when Chart.js is missing the canvas is replaced by a
// note saying so (the tables next to the charts still carry the numbers).
export function makeChart(canvas, config) {
  const Chart = chartLib();
  if (!Chart) {
    const note = document.createElement('p');
    note.className = 'note chart-missing';
    note.textContent = 'Charts need web/vendor/chart.umd.min.js: run sh web/vendor.sh.';
    canvas.replaceWith(note);
    return null;
  }
  const old = live.get(canvas);
  if (old) old.destroy();
  config.options = {
    responsive: true,
    maintainAspectRatio: false,
    animation: reducedMotion() ? false : { duration: 300 },
    ...config.options,
  };
  const chart = new Chart(canvas, config);
  live.set(canvas, chart);
  return chart;
}

const FIELD_NAMES = {
  name: 'Name',
  birth_date: 'Birth date',
  sex: 'Sex',
  nationality: 'Nationality',
  birth_place: 'Birth place',
  document: 'Document',
  address: 'Address',
};

export function fieldName(key) {
  return FIELD_NAMES[key] || key.replace(/_/g, ' ');
}

// The explanation of a hit: one horizontal bar per field, its weight in
// bits; green where the field agrees (positive), red where it disagrees.
export function explanationChart(canvas, fields) {
  const keys = Object.keys(fields || {});
  const weights = keys.map((k) => Number(fields[k].weight) || 0);
  const colours = weights.map((w) => (w > 0 ? COLOURS.agree : w < 0 ? COLOURS.disagree : COLOURS.neutral));
  return makeChart(canvas, {
    type: 'bar',
    data: {
      labels: keys.map(fieldName),
      datasets: [{ label: 'weight (bits)', data: weights, backgroundColor: colours, borderWidth: 0, barPercentage: 0.8 }],
    },
    options: {
      indexAxis: 'y',
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: (ctx) => {
              const f = fields[keys[ctx.dataIndex]];
              return `${f.level === 'null' ? 'not compared (missing)' : String(f.level).replace(/_/g, ' ')}: ${ctx.parsed.x.toFixed(2)} bits`;
            },
          },
        },
      },
      scales: {
        x: { title: { display: true, text: 'weight (bits): agrees → / ← disagrees' }, grid: { color: (c) => (c.tick && c.tick.value === 0 ? '#444' : '#e5e5e5') } },
        y: { ticks: { autoSkip: false } },
      },
    },
  });
}
