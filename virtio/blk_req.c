/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blk_req.c — the virtio-blk request parser (virtio 1.2 §5.2.6; pure): a
 * popped chain becomes a header, the data as an iovec list and the status
 * byte, or is rejected with a message.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>

#include "virtio.h"

/* One piece of the request's data as the next iovec (virtq_chain_walk). */
static int add_iov(uint8_t *hva, uint64_t n, void *opaque)
{
	struct virtio_blk_req *req = opaque;

	if (req->niov >= VIRTIO_BLK_SEG_MAX)
		return -E2BIG;
	req->iov[req->niov++] = (struct iovec){ .iov_base = hva, .iov_len = n };
	req->data_len += n;
	return 0;
}

int virtio_blk_parse(const struct virtq_chain *c, struct virtio_blk_req *req, char *err,
		     size_t errlen)
{
	struct { uint32_t type, reserved; uint64_t sector; } hdr;
	const struct virtq_seg *last;
	uint64_t want;
	bool w;
	int r;

	req->type = 0;
	req->sector = 0;
	req->status = NULL;
	req->data_len = 0;
	req->niov = 0;
	if (c->nr == 0 || c->writable_len == 0) {
		snprintf(err, errlen, "request has no writable status byte");
		return -EINVAL;
	}
	last = &c->segs[c->nr - 1];
	req->status = last->hva + last->len - 1;
	if (virtq_chain_read(c, 0, &hdr, sizeof(hdr)) < 0) {
		snprintf(err, errlen, "request header is %llu bytes, need 16",
			 (unsigned long long)c->readable_len);
		return -EINVAL;
	}
	req->type = le32toh(hdr.type);
	req->sector = le64toh(hdr.sector);

	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_GET_ID:
		if (c->readable_len != sizeof(hdr)) {
			snprintf(err, errlen, "type %u request has %llu readable bytes, expected 16",
				 req->type, (unsigned long long)c->readable_len);
			return -EINVAL;
		}
		w = true;
		want = c->writable_len - 1;
		break;
	case VIRTIO_BLK_T_OUT:
	case VIRTIO_BLK_T_FLUSH:
		if (c->writable_len != 1) {
			snprintf(err, errlen, "type %u request has %llu writable bytes, expected 1",
				 req->type, (unsigned long long)c->writable_len);
			return -EINVAL;
		}
		w = false;
		want = c->readable_len - sizeof(hdr);
		if (req->type == VIRTIO_BLK_T_FLUSH && want) {
			snprintf(err, errlen, "flush request carries %llu data bytes",
				 (unsigned long long)want);
			return -EINVAL;
		}
		break;
	default:
		return 0;  /* unsupported type: answered UNSUPP by the device */
	}
	if ((req->type == VIRTIO_BLK_T_IN || req->type == VIRTIO_BLK_T_OUT) &&
	    want % VIRTIO_BLK_SECTOR) {
		snprintf(err, errlen, "data length %llu is not a multiple of 512",
			 (unsigned long long)want);
		return -EINVAL;
	}
	if (req->type == VIRTIO_BLK_T_GET_ID && want < VIRTIO_BLK_ID_BYTES) {
		snprintf(err, errlen, "GET_ID buffer is %llu bytes, need 20",
			 (unsigned long long)want);
		return -EINVAL;
	}
	r = virtq_chain_walk(c, w, w ? 0 : sizeof(hdr), want, add_iov, req);
	if (r < 0) {
		snprintf(err, errlen, "request has more than %u data segments",
			 VIRTIO_BLK_SEG_MAX);
		return -EINVAL;
	}
	return 0;
}
