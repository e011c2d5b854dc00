#!/usr/bin/env bash
# Capture real keepalived VRRP adverts as test vectors for vrrp/packet.ts.
#
# Two network namespaces joined by a veth pair. keepalived (2.2.7, Debian) runs in namespace A with
# one vrrp_instance per scenario (configs in conf/), tcpdump listens in namespace B. After a few
# adverts keepalived gets SIGTERM, so the capture also holds its priority-0 "I am leaving" advert.
# Then extract.mjs turns every pcap into <scenario>.json: IP header + VRRP payload as hex, plus the
# fields as decoded by tshark (an independent reader) for the tests to compare against.
#
# Usage (root): bash test/vectors/vrrp/capture.sh          # all scenarios in conf/*.conf
#               bash test/vectors/vrrp/capture.sh v2-ipv4  # one scenario
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
NSA=lvsd-vv-a NSB=lvsd-vv-b
work="$(mktemp -d /tmp/lvsd-vrrp-capture.XXXXXX)"

cleanup() {
  for p in "$work"/*.kpid "$work"/*.tpid; do
    [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
  done
  ip netns del "$NSA" 2>/dev/null || true
  ip netns del "$NSB" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ip netns del "$NSA" 2>/dev/null || true
ip netns del "$NSB" 2>/dev/null || true
ip netns add "$NSA"
ip netns add "$NSB"
ip link add va netns "$NSA" type veth peer name vb netns "$NSB"
for ns in "$NSA" "$NSB"; do
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip netns exec "$ns" ip link set lo up
done
# Fixed MAC addresses, so the EUI-64 link-local sources (and so the v3 IPv6 checksums) never change.
ip -n "$NSA" link set va address 02:00:00:00:00:0a
ip -n "$NSB" link set vb address 02:00:00:00:00:0b
ip -n "$NSA" addr add 192.0.2.1/24 dev va
ip -n "$NSB" addr add 192.0.2.2/24 dev vb
ip -n "$NSA" addr add 2001:db8::1/64 dev va nodad
ip -n "$NSB" addr add 2001:db8::2/64 dev vb nodad
ip -n "$NSA" link set va up
ip -n "$NSB" link set vb up
sleep 1

scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
  for f in conf/*.conf; do scenarios+=("$(basename "$f" .conf)"); done
fi

for s in "${scenarios[@]}"; do
  echo "== $s"
  ip netns exec "$NSB" tcpdump -i vb -U -s 0 -w "$work/$s.pcap" 'ip proto 112 or ip6 proto 112' \
    >/dev/null 2>"$work/$s.tcpdump.log" &
  echo $! >"$work/$s.tpid"
  sleep 1
  ip netns exec "$NSA" keepalived -n -l -D --vrrp -f "conf/$s.conf" -i "$s" \
    -p "$work/$s.pid" -r "$work/$s.vrrp.pid" >"$work/$s.keepalived.log" 2>&1 &
  echo $! >"$work/$s.kpid"
  sleep "${CAPTURE_SECONDS:-8}"  # long enough for Master_Down_Interval plus a few adverts
  kill -TERM "$(cat "$work/$s.kpid")"
  wait "$(cat "$work/$s.kpid")" || true
  rm -f "$work/$s.kpid"
  sleep 1
  kill -INT "$(cat "$work/$s.tpid")"
  wait "$(cat "$work/$s.tpid")" || true
  rm -f "$work/$s.tpid"
  cp "$work/$s.pcap" "pcap/$s.pcap"
  node extract.mjs "pcap/$s.pcap" "conf/$s.conf" >"$s.json"
  echo "   $(grep -c '"hex"' "$s.json") packets -> $s.json"
done
