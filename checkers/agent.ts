// Agent weight (HAProxy agent-check): the real server runs an agent that answers one line, parsed by
// agent-reply.ts: "75%", "drain", "down # disk full", "up ready 100%". protocol tcp: connect, send the
// configured text (HAProxy agent-send) if any, read the line; protocol http: GET the path with HTTP/1.0
// on the same kind of connection, and the first line of a 2xx body is the reply.
//
// Reads are bounded: a line of AGENT_MAX_LINE bytes (HTTP: a head of AGENT_MAX_HEAD before it); more,
// or a deadline passed, fails the probe. The agent's state (what earlier replies said) lives with the
// probe, one per check instance (check definition and target), as HAProxy keeps it per server.
// Unlike HAProxy, where an unreachable agent changes nothing ("connectivity is tested by the regular
// health check"), an agent that cannot be reached fails the check here like any other check: pair it
// with nothing else and it is the health check too.
import { connect, Socket } from 'node:net';
import type { TcpConnect } from '../src/native/connect.js';
import { deadline } from './deadline.js';
import {
  AGENT_MAX_HEAD, AGENT_MAX_LINE, AGENT_START, agentVerdict, applyAgentReply, parseAgentHttp, parseAgentReply, replyLine, type AgentState,
} from './agent-reply.js';
import { describeSocketError, down, endpointText, timedOut, type CheckOutcome, type CheckTarget } from './outcome.js';
import { connectRouted, expire, routed, type ProbeRoute } from './tcp.js';

export interface AgentProbeOptions extends ProbeRoute {
  timeout: number;
  protocol: 'tcp' | 'http';
  /** tcp: sent after connecting (HAProxy agent-send). */
  send?: string | undefined;
  /** http: the path to GET. */
  path?: string | undefined;
}

type Read = { done: false } | { done: true; outcome: CheckOutcome } | { done: true; line: string };

/** What the bytes so far amount to; eof: the agent closed. */
export function judgeAgentBytes(bytes: Buffer, o: Pick<AgentProbeOptions, 'protocol'>, eof: boolean): Read {
  let body = bytes;
  if (o.protocol === 'http') {
    const r = parseAgentHttp(bytes);
    if (!r.complete) {
      if (r.why) return { done: true, outcome: down(r.why) };
      return eof ? { done: true, outcome: down('connection closed before the response') } : { done: false };
    }
    if (r.status < 200 || r.status > 299) return { done: true, outcome: down(`status ${r.status}`) };
    body = Buffer.from(r.body, 'latin1');
  }
  const nl = body.findIndex((b) => b === 0x0a || b === 0x0d);
  if (nl < 0 && body.length > AGENT_MAX_LINE) return { done: true, outcome: down(`agent reply longer than ${AGENT_MAX_LINE} bytes`) };
  if (nl < 0 && !eof) return { done: false };
  if (nl < 0 && body.length === 0) return { done: true, outcome: down('agent sent nothing') };
  if (nl > AGENT_MAX_LINE) return { done: true, outcome: down(`agent reply longer than ${AGENT_MAX_LINE} bytes`) };
  return { done: true, line: replyLine(body.toString('latin1')) };
}

/** A probe keeping its agent's state from reply to reply. */
export function agentProbe(t: CheckTarget, o: AgentProbeOptions): () => Promise<CheckOutcome> {
  let state: AgentState = AGENT_START;
  const request = o.protocol === 'http'
    ? `GET ${o.path ?? '/'} HTTP/1.0\r\nHost: ${endpointText(t)}\r\nUser-Agent: lvsd-checker\r\nConnection: close\r\n\r\n`
    : o.send;
  return async () => {
    const r = await exchange(t, o, request);
    if ('outcome' in r) return r.outcome;
    state = applyAgentReply(state, parseAgentReply(r.line));
    const v = agentVerdict(state);
    return v.ok ? { ok: true, weightPercent: v.weightPercent } : down(v.reason);
  };
}

/** One connection: connect, send, read until the reply is judged or the deadline passes. */
function exchange(t: CheckTarget, o: AgentProbeOptions, request: string | undefined): Promise<{ outcome: CheckOutcome } | { line: string }> {
  return new Promise((resolve) => {
    let done = false;
    let sock: Socket | undefined;
    let conn: TcpConnect | undefined;
    const limit = AGENT_MAX_LINE + 1 + (o.protocol === 'http' ? AGENT_MAX_HEAD + 4 : 0);
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (r: { outcome: CheckOutcome } | { line: string }) => {
      if (done) return;
      done = true;
      timer.cancel();
      conn?.close();
      sock?.destroy();
      resolve(r);
    };
    const timer = deadline(o.timeout, () => expire(() => finish({ outcome: timedOut(o.timeout) })));
    const judge = (eof: boolean) => {
      const r = judgeAgentBytes(Buffer.concat(chunks, size), o, eof);
      if (r.done) finish('line' in r ? { line: r.line } : { outcome: r.outcome });
    };
    const attach = (s: Socket) => {
      sock = s;
      s.on('data', (d: Buffer) => {
        if (done) return;
        // Never keep more than the bound: the rest of an oversized reply is not read.
        const take = d.subarray(0, Math.max(0, limit - size));
        chunks.push(take);
        size += take.length;
        judge(false);
      });
      s.on('end', () => judge(true));
      s.on('error', (e) => finish({ outcome: down(describeSocketError(e)) }));
      if (request) s.write(request);
    };
    try {
      if (routed(o)) {
        conn = connectRouted(t, o, (err) => {
          if (err) return finish({ outcome: down(describeSocketError(err)) });
          if (o.sourcePort !== undefined) conn!.resetOnClose();
          const fd = conn!.detach();
          conn = undefined;
          attach(new Socket({ fd, readable: true, writable: true }));
        });
      } else {
        const s = connect({ host: t.address, port: t.port, family: t.family });
        attach(s);
      }
    } catch (e) {
      finish({ outcome: down(describeSocketError(e)) });
    }
  });
}
