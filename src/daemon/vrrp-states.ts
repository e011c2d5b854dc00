// Tells the daemon when a VRRP instance changes state. The engine has no public event for it yet, so
// this wraps the engine's own state hook (the one its instances call) and, as a safety net that also
// covers instances a reload creates, compares states on a short poll. Each change is reported once.
import type { VrrpEngine } from '../../vrrp/engine.js';

export interface VrrpStateChange { instance: string; from: string; to: string; at: number }

export function watchVrrpStates(engine: VrrpEngine, onChange: (c: VrrpStateChange) => void, pollMs = 100): { close(): void } {
  const last = new Map<string, string>();
  for (const [name, inst] of engine.instances) last.set(name, inst.state);
  const check = (): void => {
    for (const [name, inst] of engine.instances) {
      const to = inst.state;
      const from = last.get(name);
      if (from === to) continue;
      last.set(name, to);
      if (from !== undefined) onChange({ instance: name, from, to, at: Date.now() });
    }
    for (const name of [...last.keys()]) if (!engine.instances.has(name)) last.delete(name);
  };
  const hooked = engine as unknown as { stateChanged?: (...args: unknown[]) => void };
  const original = hooked.stateChanged;
  if (typeof original === 'function') {
    hooked.stateChanged = function (this: unknown, ...args: unknown[]) {
      original.apply(this, args);
      // After the engine's own handling (notify, sync group); a listener's error stays here.
      try { check(); } catch { /* the poll reports it again */ }
    };
  }
  const timer = setInterval(() => { try { check(); } catch { /* keep polling */ } }, pollMs);
  timer.unref();
  return {
    close(): void {
      clearInterval(timer);
      if (typeof original === 'function') hooked.stateChanged = original;
    },
  };
}
