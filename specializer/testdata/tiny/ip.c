/* ip.c: IP layer of the tiny send path. */
#include "tiny.h"

static inline bool ipv4_is_multicast(u32 addr)
{
	return (addr & 0xf0) == 0xe0;
}

static u32 ip_fold(u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	return (sum & 0xffff) + (sum >> 16);
}

static void ip_build_header(u8 *h, struct sock *sk, u32 daddr, u32 tot_len, u16 id, u8 ttl)
{
	u32 sum = 0;
	int i;

	h[0] = 0x45;
	h[1] = sk->inet.tos;
	h[2] = tot_len >> 8;
	h[3] = tot_len & 0xff;
	h[4] = id >> 8;
	h[5] = id & 0xff;
	h[6] = 0;
	h[7] = 0;
	h[8] = ttl;
	h[9] = 17;
	h[10] = 0;
	h[11] = 0;
	for (i = 0; i < 4; i++)
		h[12 + i] = (sk->inet.saddr >> (8 * i)) & 0xff;
	for (i = 0; i < 4; i++)
		h[16 + i] = (daddr >> (8 * i)) & 0xff;
	for (i = 0; i < IPHDR_LEN; i += 2)
		sum += (h[i] << 8) | h[i + 1];
	sum = ~ip_fold(sum) & 0xffff;
	h[10] = sum >> 8;
	h[11] = sum & 0xff;
}

int ip_send_frags(struct sock *sk, struct rtable *rt, u32 daddr, const u8 *buf, u32 len, u32 flags)
{
	struct net_device *dev = rt->dev;
	u32 mtu = dev->mtu;
	u32 left = len;
	u32 off = 0;
	u16 id = shim_next_ip_id(sk);
	u8 ttl;
	int err = 0;

	if (ipv4_is_multicast(daddr))
		ttl = sk->inet.mc_ttl;
	else
		ttl = sk->inet.ttl;
	while (left > 0) {
		u32 chunk = left;
		struct sk_buff *skb;
		u8 *h;
		u8 *data;

		if (chunk > mtu - IPHDR_LEN)
			chunk = (mtu - IPHDR_LEN) & ~7u;
		skb = shim_alloc_skb(sk, dev->hard_header_len + IPHDR_LEN + chunk, flags & MSG_DONTWAIT);
		if (!skb) {
			err = -ENOBUFS;
			goto out;
		}
		if (dev->hard_header_len) {
			int i;
			u8 *mac = shim_skb_put(skb, dev->hard_header_len);

			for (i = 0; i < dev->hard_header_len; i++)
				mac[i] = dev->hh[i];
		}
		h = shim_skb_put(skb, IPHDR_LEN);
		data = shim_skb_put(skb, chunk);
		if (shim_copy_from_user(data, buf + off, chunk)) {
			shim_free_skb(skb);
			err = -EINVAL;
			goto out;
		}
		ip_build_header(h, sk, daddr, IPHDR_LEN + chunk, id, ttl);
		if (!(dev->features & NETIF_F_HW_CSUM))
			shim_csum_partial(data, chunk, 0);
		err = shim_dev_xmit(dev, skb);
		if (err)
			goto out;
		left -= chunk;
		off += chunk;
	}
out:
	return err;
}
