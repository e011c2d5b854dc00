// HAProxy's agent-check text protocol, pure: one reply line in, what it says out; the agent's state
// (what earlier replies said) + a reply -> the next state -> a check outcome. No sockets (agent.ts).
//
// The reply (HAProxy configuration manual, "agent-check"; src/tcpcheck.c tcpcheck_agent_expect_reply):
// an ASCII line ended by the first CR or LF, words separated by spaces, tabs or commas, in any order,
// case-insensitive; of several words of one kind the last wins:
// - "75%": the weight as a percentage of the configured weight (HAProxy: iweight * pct / 100, integer);
// - "up" / "down", "fail", "stopped": the operating state; text after "#" describes it;
// - "ready" / "drain" / "maint": the administrative state (drain = weight 0, connections live on;
//   maint = out of the table);
// - "maxconn:N": accepted and ignored (lvsd has upper_threshold for that);
// - anything else: reported, changes nothing (HAProxy: "agent reports an error").
// What a reply does not mention stays as the agent last said it (HAProxy: "Parameters which are not
// advertised by the agent are not changed"): an agent that only reports weights never takes a server
// out, and one that said "drain" must say "ready" (or "up" with a weight) to bring it back.
import { escapeText } from '../src/text/quote.js';

export type AgentHealth = 'up' | 'down' | 'fail' | 'stopped';
export type AgentAdmin = 'ready' | 'drain' | 'maint';

export interface AgentReply {
  percent?: number;
  health?: AgentHealth;
  admin?: AgentAdmin;
  /** Text after '#' (trimmed; empty = none). */
  description?: string;
  /** The first word that meant nothing (HAProxy reports it, changes nothing for it). */
  unknown?: string;
}

/** What an agent has said so far (HAProxy keeps each part until the agent changes it). */
export interface AgentState {
  health: AgentHealth;
  admin: AgentAdmin;
  /** Percent of the configured weight; 100 until the agent says otherwise. */
  percent: number;
  description: string;
}

export const AGENT_START: AgentState = { health: 'up', admin: 'ready', percent: 100, description: '' };

/** A reply line is at most this many bytes (the probe reads no more). */
export const AGENT_MAX_LINE = 512;
/** Percentages above this are refused as garbage (HAProxy caps the resulting weight at its maximum, 256). */
const MAX_PERCENT = 100_000;

const HEALTH = new Set<string>(['up', 'down', 'fail', 'stopped']);
const ADMIN = new Set<string>(['ready', 'drain', 'maint']);

/** The reply line: up to the first CR or LF (or all of it when the agent closed without one). */
export function replyLine(text: string): string {
  const end = text.search(/[\r\n]/);
  return end < 0 ? text : text.slice(0, end);
}

/** Parses one reply line (linear in its length). */
export function parseAgentReply(line: string): AgentReply {
  const r: AgentReply = {};
  const hash = line.indexOf('#');
  const words = (hash < 0 ? line : line.slice(0, hash)).split(/[ \t,]+/).filter((w) => w !== '');
  if (hash >= 0) {
    const d = line.slice(hash + 1).trim();
    if (d) r.description = d;
  }
  for (const word of words) {
    const w = word.toLowerCase();
    if (HEALTH.has(w)) r.health = w as AgentHealth;
    else if (ADMIN.has(w)) r.admin = w as AgentAdmin;
    else if (/^\d{1,9}%$/.test(w) && Number(w.slice(0, -1)) <= MAX_PERCENT) r.percent = Number(w.slice(0, -1));
    else if (w.startsWith('maxconn:')) { /* IPVS has upper_threshold; not taken from the agent */ }
    else if (r.unknown === undefined) r.unknown = word;
  }
  return r;
}

/** The agent's state after a reply. A description belongs to the health word it came with. */
export function applyAgentReply(s: AgentState, r: AgentReply): AgentState {
  return {
    health: r.health ?? s.health,
    admin: r.admin ?? s.admin,
    percent: r.percent ?? s.percent,
    description: r.health !== undefined ? r.description ?? '' : s.description,
  };
}

export type AgentVerdict =
  | { ok: true; weightPercent: number }
  | { ok: false; reason: string };

/**
 * The check's verdict from the agent's state: down/fail/stopped or maint take the server out; drain is
 * weight 0. The agent's description follows ": ", escaped and cut to 60 characters (reasonStem drops it).
 */
export function agentVerdict(s: AgentState): AgentVerdict {
  if (s.health !== 'up') return { ok: false, reason: `agent: ${s.health}${s.description ? `: ${escapeText(s.description, 60)}` : ''}` };
  if (s.admin === 'maint') return { ok: false, reason: 'agent: maint' };
  return { ok: true, weightPercent: s.admin === 'drain' ? 0 : s.percent };
}

/** The response head an HTTP agent may send before its reply line (status line and headers). */
export const AGENT_MAX_HEAD = 8192;

export type AgentHttpResponse =
  | { complete: true; status: number; body: string }
  | { complete: false; why?: string };

/**
 * An HTTP/1.0 response as bytes so far (the request asks for HTTP/1.0, so no chunked body): the status
 * and the body once the head has ended. complete false without `why` = read on; with `why` = give up.
 */
export function parseAgentHttp(bytes: Buffer): AgentHttpResponse {
  const end = bytes.indexOf('\r\n\r\n');
  const lfEnd = end < 0 ? bytes.indexOf('\n\n') : -1;
  if (end < 0 && lfEnd < 0) return bytes.length > AGENT_MAX_HEAD ? { complete: false, why: `response head longer than ${AGENT_MAX_HEAD} bytes` } : { complete: false };
  const headEnd = end >= 0 ? end : lfEnd;
  const bodyStart = end >= 0 ? end + 4 : lfEnd + 2;
  const statusLine = bytes.subarray(0, Math.min(bytes.indexOf('\n'), headEnd)).toString('latin1');
  const m = /^HTTP\/\d\.\d (\d{3})/.exec(statusLine);
  if (!m) return { complete: false, why: 'not an HTTP response' };
  return { complete: true, status: Number(m[1]), body: bytes.subarray(bodyStart).toString('latin1') };
}
