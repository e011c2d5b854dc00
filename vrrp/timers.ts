// VRRP timer formulas, named after RFC 5798 §6.1 and RFC 3768 §6.1, in milliseconds.
//
// Precision: the division is by 256, a power of two, so doubles hold these values exactly
// (priority 100 at 1 s: Skew_Time 609.375 ms, Master_Down_Interval 3609.375 ms). keepalived 2.2.7
// keeps microseconds and does not round the v3 centiseconds either: its measured advert gap on
// this machine (NOTES.md) is 3609.6 ms at v2 1 s and 361.2 ms at v3 0.1 s, i.e. the same
// 3609.375 / 360.9375 ms plus ~0.2-0.3 ms of wake-up and send latency, not a rounding difference.
import type { VrrpVersion } from './packet.js';

/**
 * Skew_Time. v3: ((256 - Priority) * Master_Adver_Interval) / 256 (RFC 5798 §6.1).
 * v2: (256 - Priority) / 256 seconds, independent of the interval (RFC 3768 §6.1).
 */
export function skewTimeMs(version: VrrpVersion, priority: number, masterAdverIntervalMs: number): number {
  return version === 3 ? ((256 - priority) * masterAdverIntervalMs) / 256 : ((256 - priority) * 1000) / 256;
}

/** Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time (v2: Advertisement_Interval). */
export function masterDownIntervalMs(version: VrrpVersion, priority: number, masterAdverIntervalMs: number): number {
  return 3 * masterAdverIntervalMs + skewTimeMs(version, priority, masterAdverIntervalMs);
}
