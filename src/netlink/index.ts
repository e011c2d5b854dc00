// lvsd's netlink layer: attribute codec, message framing, transport, rtnetlink and generic netlink.
// See each module's header comment for its API.
export * from './errors.js';
export * from './attributes.js';
export * from './message.js';
export * from './socket.js';
export * from './rtnetlink.js';
export * from './genl.js';
