// The checkers' public surface. The balancer (src/balancer) is their main user; the control socket and
// the metrics layer read CheckRunner.counters and each CheckInstance's state.
export { CheckRunner, CheckInstance, CheckCounters, DURATION_BUCKETS_MS, checkTarget, dedupeKey, type CheckDefinition, type Log, type VerdictListener } from './runner.js';
export { step, initialState, firstDelay, type VerdictPolicy, type VerdictState, type VerdictChange } from './verdict.js';
export type { CheckOutcome, CheckTarget } from './outcome.js';
export { probeTcp, fastTcpAvailable } from './tcp.js';
export { probeHttp, httpProbe, HttpKeepAlive, type HttpProbeOptions, type HttpUrlRule } from './http.js';
export { probeSmtp, smtpProbe, type SmtpProbeOptions } from './smtp.js';
export { SmtpReplyReader, parseReplies, ehloKeywords, type SmtpReply } from './smtp-reply.js';
export { runScript, judgeExit } from './script.js';
export { bodyDigest, statusExpected, judgeBody, parseResponseHead } from './http-match.js';
export { fileProbe, parseFileValue, judgeFileValue, judgeFileBytes, watchFile, FILE_MAX_BYTES } from './file.js';
export { agentProbe, judgeAgentBytes } from './agent.js';
export { parseAgentReply, applyAgentReply, agentVerdict, replyLine, AGENT_START, type AgentReply, type AgentState } from './agent-reply.js';
export { probeDns, type DnsProbeOptions } from './dns.js';
export { encodeQuery, parseMessage, judgeResponse, readName, DNS_TYPES, RCODES, type DnsQuery, type DnsMessage, type DnsExpect } from './dns-message.js';
export { probeUdp, judgeUdpReply, parseHex, type UdpProbeOptions, type UdpReplyRule } from './udp.js';
export { probeIcmp, EchoTable, ECHO_ID, type IcmpProbeOptions } from './icmp.js';
export { internetChecksum, encodeEchoRequest, decodeIcmp, icmpErrorReason, decodeExtendedError, extendedErrorReason, type IcmpMessage } from './icmp-packet.js';
