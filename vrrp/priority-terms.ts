// "Why is this node (not) master": the priority arithmetic of one instance, term by term, from the
// engine's own list of tracked things (engine.ts trackItems, the list effectivePriority reads), so
// what `lvsd status` shows is what VRRP used. Pure.
//
// keepalived's rules, as effectivePriority applies them: a positive weight adds while the thing is
// up, a negative one while it is down; no weight (or 0) puts the instance in FAULT while down; the
// sum is held within 1..254; an address owner (255) ignores weights. Unknown (no result yet) counts
// nothing.
import type { TrackItem } from './engine.js';

export interface PriorityTerm {
  /** 'interface:eth0', 'script:chk_nginx', 'vs:web', ... (engine.ts TrackItem keys). */
  key: string;
  /** null: no weight, the thing is a FAULT condition when down. */
  weight: number | null;
  up: boolean | null;
  /** What it adds to the base now (0 when it adds nothing). */
  contribution: number;
  /** True when it is down and has no weight: it holds the instance in FAULT. */
  fault: boolean;
}

export interface PriorityArithmetic {
  base: number;
  terms: PriorityTerm[];
  /** base + contributions before clamping. */
  sum: number;
  /** What the rules give: sum held within 1..254, or 255 for an owner. */
  priority: number;
  /** True when the 1..254 bounds changed the sum. */
  clamped: boolean;
  /** An address owner (base 255): weights do not apply. */
  owner: boolean;
}

export function priorityArithmetic(base: number, items: readonly Pick<TrackItem, 'key' | 'weight' | 'up'>[]): PriorityArithmetic {
  const owner = base === 255;
  const terms = items.map((i): PriorityTerm => {
    const weight = i.weight ? i.weight : null;
    const fault = weight === null && i.up === false;
    let contribution = 0;
    if (!owner && weight !== null && i.up !== null) {
      if (weight > 0 && i.up) contribution = weight;
      if (weight < 0 && !i.up) contribution = weight;
    }
    return { key: i.key, weight, up: i.up, contribution, fault };
  });
  const sum = base + terms.reduce((s, t) => s + t.contribution, 0);
  const priority = owner ? 255 : Math.min(254, Math.max(1, sum));
  return { base, terms, sum, priority, clamped: !owner && priority !== sum, owner };
}
