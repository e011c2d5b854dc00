M=/usr/lib/uml/modules/6.1.176/kernel
for s in rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh; do insmod $M/net/netfilter/ipvs/ip_vs_$s.ko; done
insmod $M/net/netfilter/nf_conntrack_sip.ko; insmod $M/net/netfilter/ipvs/ip_vs_pe_sip.ko
ip link add dummy0 type dummy 2>/dev/null || true
c() { n=$1; shift; echo "### $n: ipvsadm $*"; strace -f -e trace=sendmsg,recvmsg -xx -s 65535 -o /tmp/ipx/cap/$n.strace ipvsadm "$@" > /tmp/ipx/cap/$n.out 2>&1; echo "rc=$?"; echo "ipvsadm $*" > /tmp/ipx/cap/$n.cmd; }
c add_svc_tcp_rr -A -t 10.0.0.1:80 -s rr
c add_svc_tcp_persist -A -t 10.0.0.1:443 -s wlc -p 300 -M 255.255.255.0
c add_svc_udp6_sh -A -u [2001:db8::1]:53 -s sh -b sh-fallback,sh-port
c add_svc_fwmark_mh -A -f 42 -s mh -b mh-fallback,mh-port
c add_svc_sctp_pe_sip -A --sctp-service 10.0.0.2:5060 -s rr --pe sip -p 60
c add_svc_udp_ops -A -u 10.0.0.3:53 -s rr -o
c add_dest_masq -a -t 10.0.0.1:80 -r 192.168.1.2:8080 -m -w 3 -x 100 -y 10
c add_dest_route -a -t 10.0.0.1:80 -r 192.168.1.3 -g -w 1
c add_dest_ipip -a -t 10.0.0.1:80 -r 192.168.1.4 -i -w 2
c add_dest_gue -a -t 10.0.0.1:80 -r 192.168.1.5 -i --tun-type gue --tun-port 6080 --tun-csum -w 2
c add_dest_gre -a -t 10.0.0.1:80 -r 192.168.1.6 -i --tun-type gre --tun-csum
c add_dest6 -a -u [2001:db8::1]:53 -r [2001:db8::10]:53 -m -w 5
c add_dest_fwmark6mixed -a -f 42 -r 192.168.1.7 -g
c edit_dest_weight0 -e -t 10.0.0.1:80 -r 192.168.1.2:8080 -m -w 0
c edit_svc_wrr -E -t 10.0.0.1:80 -s wrr
c set_timeouts --set 900 120 300
c start_daemon_master --start-daemon master --mcast-interface lo --syncid 5
c start_daemon_backup_full --start-daemon backup --mcast-interface lo --syncid 7 --sync-maxlen 1400 --mcast-group 224.0.0.82 --mcast-port 8850 --mcast-ttl 2
c list_daemon -L --daemon
c list_timeout -L --timeout
c list_n -Ln
c list_stats -Ln --stats
c save -Sn
c stop_daemon_master --stop-daemon master
c del_dest -d -t 10.0.0.1:80 -r 192.168.1.3
c del_svc -D -t 10.0.0.1:443
c add_svc_unknown_sched -A -t 10.0.0.9:80 -s nosuch
c add_svc_exists -A -t 10.0.0.1:80 -s rr
c zero -Z
c flush -C
