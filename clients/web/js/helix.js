// The helix drawn in SVG: a tapering spiral seen slightly from above, with each agent placed at its spawn time
// t in [0, 1] (t = 0 the wide top, t = 1 the narrow bottom). Geometry matches the server's HelixOptions defaults.

const svgNs = 'http://www.w3.org/2000/svg';
export const helix = { topRadius: 3.0, bottomRadius: 0.5, height: 8, turns: 2 };

const view = { width: 320, height: 420, cx: 160, top: 36, bottom: 380, scale: 40, tilt: 0.22 };

/** Projects t to screen coordinates; `front` tells whether the point is on the near side of the spiral. */
export function project(t) {
  const clamped = Math.min(1, Math.max(0, t));
  const radius = helix.topRadius + (helix.bottomRadius - helix.topRadius) * clamped;
  const angle = clamped * helix.turns * 2 * Math.PI;
  const x = radius * Math.cos(angle);
  const depth = radius * Math.sin(angle);
  const z = helix.height * (1 - clamped);
  const y = view.top + ((helix.height - z) / helix.height) * (view.bottom - view.top);
  return { x: view.cx + x * view.scale, y: y + depth * view.scale * view.tilt, front: depth >= 0, radius };
}

function el(name, attributes = {}, text) {
  const node = document.createElementNS(svgNs, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Draws the spiral once: back segments first, dimmed, so the front ones and the agents sit on top. */
export function drawHelix(svg) {
  svg.replaceChildren();
  const steps = 240;
  const back = [];
  const front = [];
  let previous = project(0);
  for (let i = 1; i <= steps; i++) {
    const point = project(i / steps);
    (point.front ? front : back).push(`M${previous.x.toFixed(1)},${previous.y.toFixed(1)}L${point.x.toFixed(1)},${point.y.toFixed(1)}`);
    previous = point;
  }
  svg.append(
    el('line', { class: 'helix-axis', x1: view.cx, y1: view.top - 16, x2: view.cx, y2: view.bottom + 16 }),
    el('path', { class: 'helix-back', d: back.join('') }),
    el('path', { class: 'helix-front', d: front.join('') }),
    el('text', { class: 'helix-label', x: 8, y: 16 }, 't = 0 · broad exploration'),
    el('text', { class: 'helix-label', x: 8, y: view.height - 8 }, 't = 1 · focused synthesis'),
    el('g', { id: 'helix-agents' }),
  );
}

/** Adds or updates an agent's marker; returns the marker group. */
export function placeAgent(svg, agent) {
  const layer = svg.querySelector('#helix-agents');
  let marker = layer.querySelector(`[data-agent-id="${CSS.escape(agent.id)}"]`);
  const t = agent.spawnTime ?? 0.5;
  const point = project(t);
  if (!marker) {
    marker = el('g', { class: `agent ${agent.type}`, 'data-agent-id': agent.id, tabindex: '0' });
    const onLeft = point.x > view.cx;
    const labelY = freeLabelY(layer, onLeft ? 'end' : 'start', point.y + 4);
    marker.append(
      el('title', {}, ''),
      el('circle', { cx: point.x.toFixed(1), cy: point.y.toFixed(1), r: 9 }),
      el('text', {
        class: 'agent-label', x: (point.x + (onLeft ? -14 : 14)).toFixed(1), y: labelY.toFixed(1),
        'text-anchor': onLeft ? 'end' : 'start',
      }, agent.id),
    );
    if (Math.abs(labelY - (point.y + 4)) > 1) {
      // The label moved off its point to stay readable: a thin leader line keeps them together.
      marker.append(el('line', {
        class: 'agent-leader', x1: point.x.toFixed(1), y1: point.y.toFixed(1),
        x2: (point.x + (onLeft ? -12 : 12)).toFixed(1), y2: (labelY - 4).toFixed(1),
      }));
    }
    layer.append(marker);
  }
  marker.classList.toggle('done', agent.done);
  const confidence = agent.confidence == null ? '' : `, confidence ${Math.round(agent.confidence * 100)}%`;
  marker.querySelector('title').textContent =
    `${agent.id} (${agent.type}) at t = ${t.toFixed(2)}, temperature ${agent.temperature ?? '?'}${confidence}`;
  return marker;
}

// Labels are 11px text: closer than this on the same side of the axis, two of them overlap.
const labelSpacing = 13;

/** The nearest y to `wanted` where a label on `side` ('start' right of its point, 'end' left) overlaps no other. */
function freeLabelY(layer, side, wanted) {
  const taken = [...layer.querySelectorAll(`.agent-label[text-anchor="${side}"]`)].map((label) => Number(label.getAttribute('y')));
  for (let offset = 0; offset < view.height; offset += labelSpacing / 2) {
    for (const y of [wanted + offset, wanted - offset]) {
      if (y > 12 && y < view.height - 4 && taken.every((other) => Math.abs(other - y) >= labelSpacing)) return y;
    }
  }
  return wanted;
}

/** The synthesis point at the narrow bottom of the helix. */
export function placeSynthesis(svg, done) {
  const layer = svg.querySelector('#helix-agents');
  let marker = layer.querySelector('.synthesis-point');
  if (!marker) {
    const point = project(1);
    marker = el('g', { class: 'agent synthesis synthesis-point' });
    marker.append(
      el('circle', { cx: view.cx, cy: (point.y + 22).toFixed(1), r: 11 }),
      el('text', { class: 'agent-label', x: view.cx + 16, y: (point.y + 26).toFixed(1) }, 'synthesis'),
    );
    layer.append(marker);
  }
  marker.classList.toggle('done', done);
}

export function clearAgents(svg) {
  svg.querySelector('#helix-agents')?.replaceChildren();
}
