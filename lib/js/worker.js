// worker.js: the explorers' Web Worker. The front end (explorers.js) runs this file after engine.js in
// one module, so the engine's functions are in scope here. It keeps no state between tasks: the page
// holds the gate states and their brackets and sends what is to be refined. Messages:
// { id, task, args } -> { id, result } or { id, error }.
const TASKS = {
  // rows [r0, r1) of a phase-space map (engine.phaseMap)
  map: ({ m, phase, grid, convention, rows }) => phaseMap(model(m), phase, { grid, convention, rows }),
  // gate states (y, vy): each scanned if it has no brackets yet, then bisected to energyTol
  states: ({ m, frozen, scan, energyTol, items }) => {
    const mm = model(m);
    return items.map(({ y, vy, brackets }) => {
      let runs = 0;
      let open = false;
      if (!brackets) {
        const s = scanState(mm, y, vy, { frozen, scan });
        brackets = s.brackets; runs += s.runs; open = !!s.open;
      }
      runs += bisect(mm, y, vy, brackets, { frozen, energyTol });
      return { brackets, runs, open };
    });
  },
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
