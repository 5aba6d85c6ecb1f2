/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blk_sync.c — the Sync engine of virtio-blk: each request is served on the
 * VMM thread with preadv/pwritev (and fdatasync for a Writeback flush)
 * before the next one is looked at. Lock held.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "blk_internal.h"

/* preadv/pwritev until done; iov is consumed. */
static int rw_full(int fd, bool write, struct iovec *iov, unsigned niov, uint64_t off,
		   uint64_t len)
{
	while (len) {
		ssize_t n = write ? pwritev(fd, iov, (int)niov, (off_t)off)
				  : preadv(fd, iov, (int)niov, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		off += (uint64_t)n;
		len -= (uint64_t)n;
		while (niov && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			niov--;
		}
		if (niov && n) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

uint8_t blk_sync_exec(struct virtio_blk *b, struct virtio_blk_req *req)
{
	int r = blk_precheck(b, req);

	if (r >= 0)
		return (uint8_t)r;
	if (req->type == VIRTIO_BLK_T_FLUSH) {
		if (b->cfg.cache_type == CACHE_WRITEBACK && fdatasync(b->fd) < 0) {
			log_warn("drive '%s': fdatasync: %s", b->cfg.drive_id, strerror(errno));
			return VIRTIO_BLK_S_IOERR;
		}
		return VIRTIO_BLK_S_OK;
	}
	r = rw_full(b->fd, req->type == VIRTIO_BLK_T_OUT, req->iov, req->niov,
		    req->sector * VIRTIO_BLK_SECTOR, req->data_len);
	if (r < 0) {
		log_warn("drive '%s': %s at sector %llu: %s", b->cfg.drive_id,
			 req->type == VIRTIO_BLK_T_OUT ? "write" : "read",
			 (unsigned long long)req->sector, strerror(-r));
		return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}
