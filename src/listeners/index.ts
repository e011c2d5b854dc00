export { createBoundedServer, DEFAULT_LIMITS, type ListenerLimits } from './http.js';
export { fdReserve, fileLimit, processReserve, raiseFileLimit, defaultReserve, type FdReserve, type FileLimit } from './fd-reserve.js';
export { allListenerStats, listenerStats, type ListenerStats } from './stats.js';
export { coalesced, type Coalesced } from './coalesce.js';
