// The control API: a local JSON-over-HTTP server the daemon runs (server.ts), the status it serves and
// how a person reads it (status.ts), who may call it (auth.ts), and the client `lvsd status` uses (client.ts).
export { startControl, listenText, resolveServer, ControlError, type ControlOptions, type ControlServer } from './server.js';
export { buildStatus, renderStatus, formatUptime, type ControlStatus, type VrrpStatus, type ServiceStatus, type ServerStatus } from './status.js';
export { authorize, isLoopback, tokensEqual, bearerToken, type AuthDecision, type AuthRequest } from './auth.js';
export type { ControlTarget, ControlEngine, ControlBalancer, ControlIpvs, ControlVrrpInstance, ControlServerState, TransitionRecord } from './target.js';
