// The listeners' own counters (src/listeners/stats.ts) and the descriptor reserve they keep.
import { allListenerStats, processReserve } from '../listeners/index.js';
import { push, type Samples } from './family.js';
import { M } from './specs.js';

export function collectListeners(out: Samples): void {
  if (Number.isFinite(processReserve.limit)) push(out, M.fileLimit, { kind: 'limit' }, processReserve.limit);
  push(out, M.fileLimit, { kind: 'reserve' }, processReserve.reserve);
  for (const s of allListenerStats()) {
    const listener = s.name;
    push(out, M.listenerConnections, { listener }, s.open);
    push(out, M.listenerAccepted, { listener }, s.accepted);
    for (const [reason, n] of Object.entries(s.refused)) push(out, M.listenerRefused, { listener, reason }, n);
    for (const [reason, n] of Object.entries(s.badRequests)) push(out, M.listenerBadRequests, { listener, reason }, n);
  }
}
