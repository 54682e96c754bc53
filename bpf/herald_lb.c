// SPDX-License-Identifier: GPL-2.0
/*
 * herald's service load balancer: a tc ingress program.
 *
 * A packet to a frontend (LoadBalancer IP, external IP or cluster IP, with
 * its port and protocol) is DNATed to one of the frontend's backends; the
 * reply from that backend is reverse-NATed so the client sees the frontend
 * answer. herald (user space) owns the services and backends maps and keeps
 * them in step with Kubernetes; this program only reads them, and writes the
 * two flow maps (ct, revnat).
 *
 * Layouts (see the README ("Map layout") and src/datapath/layout.ts):
 * addresses are 16 bytes, IPv6 or IPv4-mapped IPv6 (::ffff:a.b.c.d), in
 * network byte order; ports are network byte order; slot numbers and counts
 * are host byte order.
 *
 * Scope: TCP and UDP over IPv4 (without fragments) and IPv6 (without
 * extension headers). Anything else passes untouched. Replies must come back
 * through a device this program is attached to (no SNAT).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <stddef.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct lb_frontend_key {
	__u8 addr[16];
	__be16 port;
	__u8 proto;
	__u8 pad;
};

struct lb_frontend {
	__u32 backend_first; /* first slot of the backend range */
	__u32 backend_count; /* 0: no ready backend, packets are dropped */
};

struct lb_addr_port {
	__u8 addr[16];
	__be16 port;
	__u16 pad;
};

struct lb_flow_key {
	__u8 src[16];
	__u8 dst[16];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct lb_ct_entry {
	struct lb_addr_port backend;
	__u32 slot; /* revalidated on every packet: a removed backend is replaced */
};

/* herald replaces these with its pinned maps (bpf_map__reuse_fd) before
 * loading, so max_entries here is only a placeholder. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lb_frontend_key);
	__type(value, struct lb_frontend);
	__uint(max_entries, 1);
} services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct lb_addr_port);
	__uint(max_entries, 1);
} backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct lb_flow_key);
	__type(value, struct lb_ct_entry);
	__uint(max_entries, 1);
} ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct lb_flow_key);
	__type(value, struct lb_addr_port);
	__uint(max_entries, 1);
} revnat SEC(".maps");

/* Packets the program leaves alone, and those it translated, go on down the
 * tc filter chain (TC_ACT_UNSPEC) so other filters still see them. */
#define PASS TC_ACT_UNSPEC

#define IP4_CSUM_OFF (ETH_HLEN + offsetof(struct iphdr, check))
#define IP4_SRC_OFF (ETH_HLEN + offsetof(struct iphdr, saddr))
#define IP4_DST_OFF (ETH_HLEN + offsetof(struct iphdr, daddr))
#define IP6_SRC_OFF (ETH_HLEN + offsetof(struct ipv6hdr, saddr))
#define IP6_DST_OFF (ETH_HLEN + offsetof(struct ipv6hdr, daddr))

static __always_inline int l4_csum_off(__u8 proto, __u32 l4)
{
	return l4 + (proto == IPPROTO_TCP ? offsetof(struct tcphdr, check) : offsetof(struct udphdr, check));
}

static __always_inline void set_mapped(__u8 *out, __be32 v4)
{
	__builtin_memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	__builtin_memcpy(out + 12, &v4, 4);
}

/* Backends order as user space sorts them: address bytes, then port (numerically). */
static __always_inline int cmp_backend(const struct lb_addr_port *a, const struct lb_addr_port *b)
{
#pragma unroll
	for (int i = 0; i < 16; i++) {
		if (a->addr[i] != b->addr[i])
			return a->addr[i] < b->addr[i] ? -1 : 1;
	}
	__u16 p = bpf_ntohs(a->port), q = bpf_ntohs(b->port);
	return p == q ? 0 : p < q ? -1 : 1;
}

/*
 * The slot of `want` in the frontend's range, or -1. Ranges are sorted, so a
 * binary search (at most 32 steps) finds a flow's backend again after herald
 * moved the frontend to a new range.
 */
static __always_inline __s64 find_slot(const struct lb_frontend *fe, const struct lb_addr_port *want)
{
	__u32 lo = 0, hi = fe->backend_count;
	for (int i = 0; i < 32 && lo < hi; i++) {
		__u32 mid = lo + (hi - lo) / 2;
		__u32 slot = fe->backend_first + mid;
		struct lb_addr_port *be = bpf_map_lookup_elem(&backends, &slot);
		if (!be)
			return -1;
		int c = cmp_backend(be, want);
		if (c == 0)
			return slot;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/*
 * Picks the backend of a new flow, or keeps the one the flow already uses
 * while that backend is still one of the frontend's. Returns NULL when the
 * frontend has none.
 */
static __always_inline const struct lb_addr_port *pick_backend(const struct lb_flow_key *flow,
							      const struct lb_frontend *fe,
							      struct lb_ct_entry *entry)
{
	struct lb_ct_entry *known = bpf_map_lookup_elem(&ct, flow);
	if (known) {
		__u32 slot = known->slot;
		struct lb_addr_port *still = bpf_map_lookup_elem(&backends, &slot);
		if (still && slot >= fe->backend_first && slot - fe->backend_first < fe->backend_count &&
		    cmp_backend(still, &known->backend) == 0) {
			*entry = *known;
			return &entry->backend;
		}
		__s64 moved = find_slot(fe, &known->backend);
		if (moved >= 0) {
			*entry = *known;
			entry->slot = moved;
			bpf_map_update_elem(&ct, flow, entry, BPF_ANY);
			return &entry->backend;
		}
	}
	if (fe->backend_count == 0)
		return NULL;
	__u32 slot = fe->backend_first + bpf_get_prandom_u32() % fe->backend_count;
	struct lb_addr_port *be = bpf_map_lookup_elem(&backends, &slot);
	if (!be)
		return NULL;
	entry->backend = *be;
	entry->slot = slot;
	bpf_map_update_elem(&ct, flow, entry, BPF_ANY);
	return &entry->backend;
}

/* Records how to undo the DNAT for the reply: backend -> client maps back to the frontend. */
static __always_inline void remember_reply(const struct lb_flow_key *flow, const struct lb_addr_port *be)
{
	struct lb_flow_key reply = {};
	struct lb_addr_port frontend = {};
	__builtin_memcpy(reply.src, be->addr, 16);
	__builtin_memcpy(reply.dst, flow->src, 16);
	reply.sport = be->port;
	reply.dport = flow->sport;
	reply.proto = flow->proto;
	__builtin_memcpy(frontend.addr, flow->dst, 16);
	frontend.port = flow->dport;
	bpf_map_update_elem(&revnat, &reply, &frontend, BPF_ANY);
}

/*
 * Rewrites one address and one port of an IPv4 packet (the destination for
 * DNAT, the source for reverse NAT), fixing the IP and L4 checksums.
 */
static __always_inline int rewrite4(struct __sk_buff *skb, __u8 proto, __u32 l4, int dst, __be32 old_ip,
				    __be32 new_ip, __be16 old_port, __be16 new_port)
{
	int csum = l4_csum_off(proto, l4);
	int addr_off = dst ? IP4_DST_OFF : IP4_SRC_OFF;
	int port_off = l4 + (dst ? offsetof(struct tcphdr, dest) : offsetof(struct tcphdr, source));
	__u64 mangled = 0;

	if (proto == IPPROTO_UDP) {
		__sum16 check;
		if (bpf_skb_load_bytes(skb, csum, &check, sizeof(check)) < 0)
			return -1;
		if (check == 0)
			csum = -1; /* UDP over IPv4 without checksum: leave it so */
		mangled = BPF_F_MARK_MANGLED_0;
	}
	if (csum >= 0) {
		if (bpf_l4_csum_replace(skb, csum, old_ip, new_ip, BPF_F_PSEUDO_HDR | mangled | sizeof(new_ip)) < 0)
			return -1;
		if (bpf_l4_csum_replace(skb, csum, old_port, new_port, mangled | sizeof(new_port)) < 0)
			return -1;
	}
	if (bpf_l3_csum_replace(skb, IP4_CSUM_OFF, old_ip, new_ip, sizeof(new_ip)) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, addr_off, &new_ip, sizeof(new_ip), 0) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, port_off, &new_port, sizeof(new_port), 0) < 0)
		return -1;
	return 0;
}

/* The IPv6 counterpart: no IP checksum, a 16-byte pseudo-header change. */
static __always_inline int rewrite6(struct __sk_buff *skb, __u8 proto, __u32 l4, int dst, __u8 *old_ip,
				    __u8 *new_ip, __be16 old_port, __be16 new_port)
{
	int csum = l4_csum_off(proto, l4);
	int addr_off = dst ? IP6_DST_OFF : IP6_SRC_OFF;
	int port_off = l4 + (dst ? offsetof(struct tcphdr, dest) : offsetof(struct tcphdr, source));
	__u64 mangled = proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
	__s64 diff = bpf_csum_diff((__be32 *)old_ip, 16, (__be32 *)new_ip, 16, 0);

	if (diff < 0)
		return -1;
	if (bpf_l4_csum_replace(skb, csum, 0, diff, BPF_F_PSEUDO_HDR | mangled) < 0)
		return -1;
	if (bpf_l4_csum_replace(skb, csum, old_port, new_port, mangled | sizeof(new_port)) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, addr_off, new_ip, 16, 0) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, port_off, &new_port, sizeof(new_port), 0) < 0)
		return -1;
	return 0;
}

/* Reads the two ports of a TCP or UDP header (they sit at the same offsets). */
static __always_inline int load_ports(struct __sk_buff *skb, __u32 l4, struct lb_flow_key *flow)
{
	__be16 ports[2];
	if (bpf_skb_load_bytes(skb, l4, ports, sizeof(ports)) < 0)
		return -1;
	flow->sport = ports[0];
	flow->dport = ports[1];
	return 0;
}

static __always_inline int handle(struct __sk_buff *skb, int v6)
{
	struct lb_flow_key flow = {};
	__u32 l4;

	if (v6) {
		struct ipv6hdr ip6;
		if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip6, sizeof(ip6)) < 0)
			return PASS;
		if (ip6.nexthdr != IPPROTO_TCP && ip6.nexthdr != IPPROTO_UDP)
			return PASS;
		__builtin_memcpy(flow.src, &ip6.saddr, 16);
		__builtin_memcpy(flow.dst, &ip6.daddr, 16);
		flow.proto = ip6.nexthdr;
		l4 = ETH_HLEN + sizeof(ip6);
	} else {
		struct iphdr ip;
		if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0)
			return PASS;
		if (ip.protocol != IPPROTO_TCP && ip.protocol != IPPROTO_UDP)
			return PASS;
		if (ip.frag_off & bpf_htons(0x3fff)) /* MF or an offset: fragments pass */
			return PASS;
		set_mapped(flow.src, ip.saddr);
		set_mapped(flow.dst, ip.daddr);
		flow.proto = ip.protocol;
		l4 = ETH_HLEN + ip.ihl * 4;
	}
	if (load_ports(skb, l4, &flow) < 0)
		return PASS;

	/* A reply from a backend: give it the frontend's address and port back. */
	struct lb_addr_port *frontend = bpf_map_lookup_elem(&revnat, &flow);
	if (frontend) {
		struct lb_addr_port fe = *frontend;
		int err = v6 ? rewrite6(skb, flow.proto, l4, 0, flow.src, fe.addr, flow.sport, fe.port)
			     : rewrite4(skb, flow.proto, l4, 0, *(__be32 *)(flow.src + 12), *(__be32 *)(fe.addr + 12),
					flow.sport, fe.port);
		return err < 0 ? TC_ACT_SHOT : PASS;
	}

	struct lb_frontend_key key = {};
	__builtin_memcpy(key.addr, flow.dst, 16);
	key.port = flow.dport;
	key.proto = flow.proto;
	struct lb_frontend *fe = bpf_map_lookup_elem(&services, &key);
	if (!fe)
		return PASS;

	struct lb_ct_entry entry = {};
	const struct lb_addr_port *be = pick_backend(&flow, fe, &entry);
	if (!be)
		return TC_ACT_SHOT; /* a frontend without ready backends: like kube-proxy, refuse */
	remember_reply(&flow, be);
	int err = v6 ? rewrite6(skb, flow.proto, l4, 1, flow.dst, entry.backend.addr, flow.dport, entry.backend.port)
		     : rewrite4(skb, flow.proto, l4, 1, *(__be32 *)(flow.dst + 12), *(__be32 *)(entry.backend.addr + 12),
				flow.dport, entry.backend.port);
	return err < 0 ? TC_ACT_SHOT : PASS;
}

SEC("tc")
int herald_lb(struct __sk_buff *skb)
{
	if (skb->protocol == bpf_htons(ETH_P_IP))
		return handle(skb, 0);
	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return handle(skb, 1);
	return PASS;
}

char LICENSE[] SEC("license") = "GPL";
