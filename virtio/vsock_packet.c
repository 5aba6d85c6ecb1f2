/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsock_packet.c — the virtio-vsock packet header (virtio 1.2 §5.10.6):
 * 44 little-endian bytes, and the checks a guest TX packet must pass.
 */
#include "vsock_internal.h"

#include "vmm.h"

void vsock_hdr_decode(const uint8_t raw[VSOCK_HDR_LEN], struct vsock_hdr *h)
{
	h->src_cid = ld_le64(raw + 0);
	h->dst_cid = ld_le64(raw + 8);
	h->src_port = ld_le32(raw + 16);
	h->dst_port = ld_le32(raw + 20);
	h->len = ld_le32(raw + 24);
	h->type = ld_le16(raw + 28);
	h->op = ld_le16(raw + 30);
	h->flags = ld_le32(raw + 32);
	h->buf_alloc = ld_le32(raw + 36);
	h->fwd_cnt = ld_le32(raw + 40);
}

void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t raw[VSOCK_HDR_LEN])
{
	st_le64(raw + 0, h->src_cid);
	st_le64(raw + 8, h->dst_cid);
	st_le32(raw + 16, h->src_port);
	st_le32(raw + 20, h->dst_port);
	st_le32(raw + 24, h->len);
	st_le16(raw + 28, h->type);
	st_le16(raw + 30, h->op);
	st_le32(raw + 32, h->flags);
	st_le32(raw + 36, h->buf_alloc);
	st_le32(raw + 40, h->fwd_cnt);
}

const char *vsock_bad_name(enum vsock_bad b)
{
	static const char *const names[VSOCK_BAD__COUNT] = {
		[VSOCK_OK] = "ok",
		[VSOCK_BAD_SHORT] = "chain shorter than the 44-byte header",
		[VSOCK_BAD_TYPE] = "type is not STREAM",
		[VSOCK_BAD_SRC_CID] = "src_cid is not the guest's CID",
		[VSOCK_BAD_DST_CID] = "dst_cid is not the host (2)",
		[VSOCK_BAD_OVERSIZED] = "len is over 64 KiB",
		[VSOCK_BAD_TRUNCATED] = "len is beyond the descriptor chain",
		[VSOCK_BAD_OP] = "unknown op",
	};
	return (unsigned)b < VSOCK_BAD__COUNT ? names[b] : "?";
}

enum vsock_bad vsock_tx_check(const struct vsock_hdr *h, uint64_t guest_cid,
			      uint64_t payload_avail)
{
	if (h->type != VSOCK_TYPE_STREAM)
		return VSOCK_BAD_TYPE;
	if (h->src_cid != guest_cid)
		return VSOCK_BAD_SRC_CID;
	if (h->dst_cid != VSOCK_HOST_CID)
		return VSOCK_BAD_DST_CID;
	if (h->op < VSOCK_OP_REQUEST || h->op > VSOCK_OP_CREDIT_REQUEST)
		return VSOCK_BAD_OP;
	/* As Firecracker, on every op (only RW carries data; the others
	 * have len 0). */
	if (h->len > VSOCK_MAX_PKT_BUF)
		return VSOCK_BAD_OVERSIZED;
	if (h->len > payload_avail)
		return VSOCK_BAD_TRUNCATED;
	return VSOCK_OK;
}
