#!/usr/bin/env bash
# Captures the route requests iproute2 sends, as outside test vectors for lvsd's route encoders (issue
# #14: announced VIPs are kernel routes with lvsd's own rtm_protocol in a table the routing daemon
# imports), and the kernel's replies to a route dump and to refused requests, with iproute2's reading of
# them. Same method as capture.sh (strace of `ip` in a throwaway namespace; see there); output:
# iproute2-routes.json [{name, command, ifindex, hex}] and kernel-replies-routes.json
# [{name, command, datagrams: [hex], output}]. Table 250 and protocol 250 are lvsd's defaults.
# Run as root: bash test/vectors/netlink/capture-routes.sh
set -euo pipefail
cd "$(dirname "$0")"
ns=lvsd-capture-$$
ip netns add "$ns"
trap 'ip netns del "$ns"' EXIT
ip -n "$ns" link set lo up
ip -n "$ns" link add v0 type veth peer name v1
ip -n "$ns" link set v0 up
ip -n "$ns" addr add 198.51.100.2/24 dev v0
ip -n "$ns" -6 addr add 2001:db8:5::2/64 dev v0 nodad

capture() { # name, command...
  local name=$1; shift
  local hex
  hex=$(ip netns exec "$ns" strace -f -e trace=sendmsg -e write=3 "$@" 2>&1 >/dev/null |
    awk '/^sendmsg\(3,/ { buf = "" } /^ \| [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]  / { buf = buf substr($0, 11, 49) } END { print buf }' | tr -d ' ')
  [ -n "$hex" ] || { echo "no capture for $name" >&2; exit 1; }
  printf '  {"name": "%s", "command": "%s", "ifindex": 1, "hex": "%s"}' "$name" "$*" "$hex"
}

{
  echo '['
  capture route4-add ip route add 203.0.113.10/32 dev lo table 250 proto 250; echo ,
  capture route4-add-metric ip route add 203.0.113.10/32 dev lo table 250 proto 250 metric 1000; echo ,
  capture route6-add ip -6 route add 2001:db8:ff::10/128 dev lo table 250 proto 250; echo ,
  capture route4-del-metric ip route del 203.0.113.10/32 dev lo table 250 proto 250 metric 1000; echo ,
  capture route6-del ip -6 route del 2001:db8:ff::10/128 dev lo table 250 proto 250; echo ,
  capture route4-add-table-above-255 ip route add 203.0.113.11/32 dev lo table 1000 proto 250; echo ,
  capture local4-add ip route add local 203.0.113.10/32 dev lo table local proto 250; echo ,
  capture local6-add ip -6 route add local 2001:db8:ff::10/128 dev lo table local proto 250; echo ,
  capture local4-del ip route del local 203.0.113.10/32 dev lo table local proto 250; echo
  echo ']'
} > iproute2-routes.json.tmp
mv iproute2-routes.json.tmp iproute2-routes.json
{ echo "captured $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -r) with $(ip -V) and $(strace -V | head -1)"; } > iproute2-routes.txt

replies() { # name, command...: every datagram read on fd 3, and the command's stdout
  local name=$1; shift
  local out hex
  out=$(ip netns exec "$ns" "$@" 2>&1 || true)
  hex=$( (ip netns exec "$ns" strace -f -e trace=recvmsg -e read=3 "$@" 2>&1 >/dev/null || true) |
    awk '/^ \* [0-9]+ bytes in buffer/ { if (buf != "") print buf; buf = "" }
         /^ \| [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]  / { buf = buf substr($0, 11, 49) }
         END { if (buf != "") print buf }' | tr -d ' ' | sed 's/.*/"&"/' | paste -sd, -)
  [ -n "$hex" ] || { echo "no replies for $name" >&2; exit 1; }
  printf '  {"name": "%s", "command": "%s", "datagrams": [%s], "output": %s}' "$name" "$*" "$hex" \
    "$(printf '%s' "$out" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.stringify(s)))')"
}

ip -n "$ns" route flush table 250
ip -n "$ns" route flush table 1000
# What a director holds: an announced VIP (and a soft-drained one), its local route, an IPv6 VIP, and
# routes lvsd must leave alone (another protocol in lvsd's table, a gateway route, the main table).
ip -n "$ns" route add 203.0.113.10/32 dev lo table 250 proto 250
ip -n "$ns" route add 203.0.113.12/32 dev lo table 250 proto 250 metric 1000
ip -n "$ns" -6 route add 2001:db8:ff::10/128 dev lo table 250 proto 250
ip -n "$ns" route add 203.0.113.99/32 dev lo table 250 proto static
ip -n "$ns" route add 192.0.2.0/24 via 198.51.100.1 table 250 proto 250 metric 7
ip -n "$ns" route add local 203.0.113.10/32 dev lo table local proto 250
ip -n "$ns" route add 10.9.0.0/16 via 198.51.100.1
{
  echo '['
  replies route4-dump ip -j -d route show table all; echo ,
  replies route6-dump ip -j -d -6 route show table all; echo ,
  replies error-route-eexist ip route add 203.0.113.10/32 dev lo table 250 proto 250; echo ,
  replies error-route-esrch ip route del 203.0.113.77/32 dev lo table 250 proto 250; echo
  echo ']'
} > kernel-replies-routes.json.tmp
mv kernel-replies-routes.json.tmp kernel-replies-routes.json
cat iproute2-routes.json
