/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scen_vsock.c — `vsock`: a virtio-vsock peer for the host's hybrid vsock
 * tests (tests/integration/test_vsock.c) and benchmark (bench/vsock_bench.c).
 *
 * Listens on wtest.port (1024, Kata's agent port) and echoes every byte of
 * every connection; on wtest.sink (1025) discards what it receives (RST
 * once the peer has shut down, so the host's EOF means "all consumed"); on
 * wtest.source (1026) sends the stream pattern (byte i = i % 251) as fast
 * as the host's credit allows. With wtest.connect=P it connects to host
 * port P at start, sends wtest.len bytes (65536) of the pattern and
 * expects them echoed back.
 *
 * Serial commands, one per line (LF or CR), each answered by one line
 * `vsock: cmd '<line>' ...`:
 *   connect P [LEN]   outbound connection, as wtest.connect
 *   close P           close the guest's connection whose peer port is P
 *   bad-type P / bad-cid P / bad-len P / bad-op P / bad-short P
 *                     send a malformed packet on that connection; the
 *                     device must reset it (`vsock: bad-... on L<-P: reset
 *                     by the device`)
 *   stats             `vsock: stats ...`
 *   quit              stats, then PASS (FAIL if the device broke the
 *                     protocol: `device errors N`)
 * Parameters: wtest.dev=N (default: the first vsock device), wtest.port, wtest.sink,
 * wtest.source, wtest.connect, wtest.len, wtest.rxbuf=B (65536 payload
 * bytes per rx buffer), wtest.split=1 (header and payload in separate
 * descriptors), wtest.quiet=1 (no per-connection lines), wtest.timeout=S
 * (600: FAIL when no `quit` came).
 */
#include "vio_vsock.h"

#define LINE_MAX 96

static char line[LINE_MAX];
static unsigned line_len;
static uint32_t listen_ports[3];
static uint64_t polls, t_start;

static void print_stats(void)
{
	const struct vsock_stats *s = vsock_stats();

	printk("vsock: stats open %u max-open %u accepted %lu connected %lu refused %lu closed %lu resets-rx %lu resets-tx %lu bytes-rx %lu bytes-tx %lu pkts-rx %lu pkts-tx %lu credit-updates %lu credit-requests %lu spilled %lu transport-resets %lu device-errors %lu\n",
	       s->open, s->max_open, (unsigned long)s->accepted, (unsigned long)s->connected,
	       (unsigned long)s->refused, (unsigned long)s->closed, (unsigned long)s->resets_rx,
	       (unsigned long)s->resets_tx, (unsigned long)s->bytes_rx, (unsigned long)s->bytes_tx,
	       (unsigned long)s->pkts_rx, (unsigned long)s->pkts_tx,
	       (unsigned long)s->credit_updates, (unsigned long)s->credit_requests,
	       (unsigned long)s->spilled, (unsigned long)s->transport_resets,
	       (unsigned long)s->dev_errors);
	printk("vsock: %lu polling passes in %lu ms\n", (unsigned long)polls,
	       (unsigned long)((rdtsc() - t_start) / tsc_per_ms()));
}

/* The connection with peer port p on any of our listening ports. */
static int find_peer(uint32_t p)
{
	for (unsigned i = 0; i < ARRAY_SIZE(listen_ports); i++) {
		int id = vsock_find(listen_ports[i], p);

		if (id >= 0)
			return id;
	}
	return -1;
}

static bool word_arg(const char *s, const char *word, uint64_t *v, uint64_t *v2)
{
	size_t n = strlen(word);
	const char *e;

	if (strncmp(s, word, n) || s[n] != ' ')
		return false;
	if (!parse_u64(s + n + 1, v, &e))
		return false;
	if (v2 && *e == ' ' && !parse_u64(e + 1, v2, &e))
		return false;
	return *e == 0;
}

static void command(const char *cmd)
{
	static const char *const bad[] = { "bad-type", "bad-cid", "bad-len", "bad-op", "bad-short" };
	uint64_t p, len = 65536;

	if (!strcmp(cmd, "quit")) {
		printk("vsock: cmd '%s' ok\n", cmd);
		print_stats();
		if (vsock_stats()->dev_errors)
			wtest_fail("device errors %lu", (unsigned long)vsock_stats()->dev_errors);
		wtest_pass();
	}
	if (!strcmp(cmd, "stats")) {
		printk("vsock: cmd '%s' ok\n", cmd);
		print_stats();
		return;
	}
	if (word_arg(cmd, "connect", &p, &len)) {
		int id = p <= 0xffffffffu ? vsock_connect((uint32_t)p, len) : -1;

		printk("vsock: cmd '%s' %s\n", cmd, id >= 0 ? "ok" : "failed: table full");
		return;
	}
	if (word_arg(cmd, "close", &p, NULL)) {
		int id = find_peer((uint32_t)p);

		printk("vsock: cmd '%s' %s\n", cmd,
		       id >= 0 && vsock_close(id) ? "ok" : "failed: no open connection");
		return;
	}
	for (unsigned k = 0; k < ARRAY_SIZE(bad); k++)
		if (word_arg(cmd, bad[k], &p, NULL)) {
			int id = find_peer((uint32_t)p);

			printk("vsock: cmd '%s' %s\n", cmd,
			       id >= 0 && vsock_send_bad(id, (enum vsock_bad)k) ? "ok" :
										   "failed: no open connection");
			return;
		}
	printk("vsock: cmd '%s' unknown\n", cmd);
}

static void serial_poll(void)
{
	for (unsigned i = 0; i < 64 && uart_rx_ready(); i++) {
		char ch = (char)uart_getc();

		if (ch == '\n' || ch == '\r') {
			line[line_len] = 0;
			if (line_len)
				command(line);
			line_len = 0;
		} else if (line_len + 1 < LINE_MAX) {
			line[line_len++] = ch;
		}
	}
}

static uint32_t port_param(const char *key, uint32_t dflt)
{
	uint64_t v = param_u64(key, dflt);

	if (v > 0xffffffffu)
		wtest_fail("wtest.%s=%lu: not a port", key, (unsigned long)v);
	return (uint32_t)v;
}

/* wtest.dev=N, or the first virtio-mmio device that is a vsock (engines
 * such as Kata configure drives and NICs before it). */
static unsigned vsock_index(void)
{
	struct vdev d;

	if (param_str("dev", NULL))
		return (unsigned)param_u64("dev", 0);
	for (unsigned i = 0; vio_probe(&d, i) == 0; i++)
		if (d.device_id == 19)
			return i;
	return 0;
}

void scen_vsock(void)
{
	uint64_t khz, next_serial, deadline, timeout = param_u64("timeout", 600);
	uint64_t connect = param_u64("connect", 0);

	timer_calibrate();
	khz = tsc_per_ms();
	listen_ports[0] = port_param("port", 1024);
	listen_ports[1] = port_param("sink", 1025);
	listen_ports[2] = port_param("source", 1026);
	vsock_open(vsock_index(), (uint32_t)param_u64("rxbuf", 65536),
		   param_u64("split", 0) != 0);
	vsock_set_verbose(param_u64("quiet", 0) == 0);
	vsock_listen(listen_ports[0], VAPP_ECHO);
	vsock_listen(listen_ports[1], VAPP_SINK);
	vsock_listen(listen_ports[2], VAPP_SOURCE);
	printk("vsock: listening on %u (echo), %u (sink), %u (source)\n",
	       (unsigned)listen_ports[0], (unsigned)listen_ports[1], (unsigned)listen_ports[2]);
	if (connect) {
		uint64_t len = param_u64("len", 65536);

		if (connect > 0xffffffffu || vsock_connect((uint32_t)connect, len) < 0)
			wtest_fail("wtest.connect=%lu: cannot connect", (unsigned long)connect);
		printk("vsock: connect %lu: request sent (%lu bytes to send)\n",
		       (unsigned long)connect, (unsigned long)len);
	}
	printk("vsock: ready\n");
	next_serial = t_start = rdtsc();
	deadline = timeout ? rdtsc() + timeout * 1000 * khz : ~0ULL;
	for (;;) {
		uint64_t now;

		vsock_poll();
		polls++;
		now = rdtsc();
		if (now >= next_serial) {
			serial_poll();
			next_serial = now + khz;       /* every millisecond */
		}
		if (now > deadline) {
			print_stats();
			wtest_fail("no quit command within %lu s", (unsigned long)timeout);
		}
	}
}
