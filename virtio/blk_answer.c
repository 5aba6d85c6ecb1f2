/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blk_answer.c — what both virtio-blk engines share: the checks made before
 * any I/O (read-only drive, capacity; GET_ID and unsupported types are
 * answered here), and the answer itself: status byte, counters, used
 * length. Lock held.
 */
#include <string.h>

#include "blk_internal.h"

static void fill_id(const struct virtio_blk *b, uint8_t id[VIRTIO_BLK_ID_BYTES])
{
	size_t n = strnlen(b->cfg.drive_id, VIRTIO_BLK_ID_BYTES);

	memset(id, 0, VIRTIO_BLK_ID_BYTES);
	memcpy(id, b->cfg.drive_id, n);
}

static void iov_fill(struct iovec *iov, unsigned niov, const void *src, uint64_t len)
{
	const uint8_t *p = src;

	for (unsigned i = 0; i < niov && len; i++) {
		size_t n = iov[i].iov_len < len ? iov[i].iov_len : len;

		memcpy(iov[i].iov_base, p, n);
		p += n;
		len -= n;
	}
}

static bool in_range(const struct virtio_blk *b, const struct virtio_blk_req *req)
{
	uint64_t n = req->data_len / VIRTIO_BLK_SECTOR;

	return req->sector <= b->nsectors && n <= b->nsectors - req->sector;
}

int blk_precheck(struct virtio_blk *b, const struct virtio_blk_req *req)
{
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (req->type == VIRTIO_BLK_T_OUT && b->cfg.is_read_only) {
			log_debug("drive '%s': write to a read-only drive", b->cfg.drive_id);
			return VIRTIO_BLK_S_IOERR;
		}
		if (!in_range(b, req)) {
			log_debug("drive '%s': sector %llu + %llu bytes is past capacity %llu",
				  b->cfg.drive_id, (unsigned long long)req->sector,
				  (unsigned long long)req->data_len,
				  (unsigned long long)b->nsectors);
			return VIRTIO_BLK_S_IOERR;
		}
		return -1;
	case VIRTIO_BLK_T_FLUSH:
		return -1;
	case VIRTIO_BLK_T_GET_ID: {
		uint8_t id[VIRTIO_BLK_ID_BYTES];

		fill_id(b, id);
		iov_fill((struct iovec *)req->iov, req->niov, id, sizeof(id));
		b->stats.get_id_count++;
		return VIRTIO_BLK_S_OK;
	}
	default:
		b->stats.unsupported++;
		return VIRTIO_BLK_S_UNSUPP;
	}
}

static void account(struct virtio_blk *b, uint32_t type, uint64_t len, uint8_t st)
{
	if (st != VIRTIO_BLK_S_OK) {
		if (st == VIRTIO_BLK_S_IOERR)
			b->stats.io_errors++;
		return;
	}
	if (type == VIRTIO_BLK_T_IN) {
		b->stats.read_count++;
		b->stats.read_bytes += len;
	} else if (type == VIRTIO_BLK_T_OUT) {
		b->stats.write_count++;
		b->stats.write_bytes += len;
	} else if (type == VIRTIO_BLK_T_FLUSH) {
		b->stats.flush_count++;
	}
}

static uint32_t used_len_for(uint32_t type, uint64_t data_len, uint8_t st)
{
	if (st == VIRTIO_BLK_S_OK && type == VIRTIO_BLK_T_IN)
		return (uint32_t)data_len + 1;
	if (st == VIRTIO_BLK_S_OK && type == VIRTIO_BLK_T_GET_ID)
		return VIRTIO_BLK_ID_BYTES + 1;
	return 1;
}

void blk_complete(struct virtio_blk *b, uint16_t head, uint8_t *status, uint32_t type,
		  uint64_t data_len, uint8_t st)
{
	struct virtq *q = &b->t.state.queues[0];

	*status = st;
	account(b, type, data_len, st);
	virtq_push(q, head, used_len_for(type, data_len, st));
}
