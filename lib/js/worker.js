// worker.js: the explorers' Web Worker. lib/widgets.py appends this file to engine.js in one module,
// so the engine's functions are in scope here. Messages: { id, task, args } -> { id, result } or
// { id, error }.
const TASKS = {
  // rows [r0, r1) of a phase-space map (engine.phaseMap)
  map: ({ m, phase, grid, convention, rows }) => phaseMap(model(m), phase, { grid, convention, rows }),
  // the gate states of some level nodes (engine.levelStates), or of a gate at rest / held
  levels: ({ m, nodes, options }) => nodes.map((n) => levelStates(model(m), n, options)),
  rest: ({ m, gate, options }) => transmittingSet(model(m), gate, options),
};

self.onmessage = (event) => {
  const { id, task, args } = event.data;
  try {
    const result = TASKS[task](args);
    self.postMessage({ id, result }, result instanceof Uint8Array ? [result.buffer] : []);
  } catch (error) {
    self.postMessage({ id, error: String(error && error.message || error) });
  }
};
