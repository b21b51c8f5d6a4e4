/* SPDX-License-Identifier: MIT */
/*
 * vsnd-bench-floor: the timing and CPU floor any timer-driven device meets on
 * this machine, measured in the same run as vsnd (issue 19).
 *
 * N processes (as N vsnd daemons, one stream each) wake on absolute timerfd
 * deadlines at the stream's period, t0 + k * period on CLOCK_MONOTONIC, and
 * per period make the system calls the device path makes: the timer's read
 * and re-arm, and an eventfd write and read (a backend's wake of the loop).
 * Each records how late every wake was; nothing else runs. What vsnd adds
 * on top of this is what vsnd costs.
 *
 * With --driver, each wake's eventfd write is instead read by one more
 * process, an epoll over the N eventfds, as vsnd's call eventfds are by the
 * density bench's one driver: the write then wakes a waiting process (on a
 * VM, an interrupt to the other CPU), and that process's wake-ups compete
 * for the cores with the N, as a device's driver does. The processes make
 * no eventfd read of their own then (vsnd reads no kick while its queue is
 * quiet).
 *
 *   vsnd-bench-floor --procs N --period-ms P --seconds S --out DIR [--driver]
 *
 * Writes DIR/floor-I.txt (one lateness in ns per line, per process I) and
 * prints one line: "cpu_s C wall_s W wakes K" (C: the N processes' user +
 * system time, from wait4), with --driver followed by "driver_cpu_s D".
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/mono.h"

static int arm(int tfd, uint64_t deadline)
{
	struct itimerspec it = { .it_value = { (time_t)(deadline / 1000000000u),
					       (long)(deadline % 1000000000u) } };

	return timerfd_settime(tfd, TFD_TIMER_ABSTIME, &it, NULL);
}

/* One stream: wake at every deadline, note the lateness, write it out.
 * efd: the driver's, or -1 (its own, read back at once). */
static int stream(unsigned int id, uint64_t period, uint64_t wakes, const char *dir, int efd)
{
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	bool own = efd < 0;
	uint64_t *late = calloc(wakes, sizeof(*late)), t0 = vsnd__mono_ns() + period, v, one = 1;
	char path[4096];
	FILE *out;

	if (own)
		efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (tfd < 0 || efd < 0 || !late)
		return 1;
	for (uint64_t k = 0; k < wakes; k++) {
		uint64_t deadline = t0 + k * period;

		if (arm(tfd, deadline) < 0 || read(tfd, &v, sizeof(v)) < 0)
			return 1;
		late[k] = vsnd__mono_ns() - deadline;
		if (write(efd, &one, sizeof(one)) < 0 || (own && read(efd, &v, sizeof(v)) < 0))
			return 1;
	}
	snprintf(path, sizeof(path), "%s/floor-%u.txt", dir, id);
	out = fopen(path, "w");
	if (!out)
		return 1;
	for (uint64_t k = 0; k < wakes; k++)
		fprintf(out, "%llu\n", (unsigned long long)late[k]);
	free(late);
	return fclose(out) == 0 ? 0 : 1;
}

/* The driver: read every eventfd as it is written, until killed. */
static int driver(const int *efd, unsigned int n)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev[64];
	uint64_t v;

	if (ep < 0)
		return 1;
	for (unsigned int i = 0; i < n; i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = i };

		if (epoll_ctl(ep, EPOLL_CTL_ADD, efd[i], &e) < 0)
			return 1;
	}
	for (;;) {
		int k = epoll_wait(ep, ev, 64, -1);

		if (k < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < k; i++)
			if (read(efd[ev[i].data.u32], &v, sizeof(v)) < 0 && errno != EAGAIN)
				return 1;
	}
}

static double cpu_of(const struct rusage *ru)
{
	return ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 + ru->ru_stime.tv_sec +
	       ru->ru_stime.tv_usec / 1e6;
}

static int usage(void)
{
	fputs("usage: vsnd-bench-floor --procs N --period-ms P --seconds S --out DIR [--driver]\n",
	      stderr);
	return 2;
}

int main(int argc, char **argv)
{
	unsigned int procs = 1, bad = 0;
	double period_ms = 10, seconds = 10;
	const char *dir = NULL;
	bool with_driver = false;
	int *efd;
	pid_t drv = 0;
	struct rusage ru;
	uint64_t t0, wakes;
	double cpu = 0;
	int status;

	for (int i = 1; i < argc; i += 2) {
		if (strcmp(argv[i], "--driver") == 0) {
			with_driver = true;
			i--;
		} else if (i + 1 == argc) {
			return usage();
		} else if (strcmp(argv[i], "--procs") == 0)
			procs = (unsigned int)strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--period-ms") == 0)
			period_ms = strtod(argv[i + 1], NULL);
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = strtod(argv[i + 1], NULL);
		else if (strcmp(argv[i], "--out") == 0)
			dir = argv[i + 1];
		else
			return usage();
	}
	if (!dir || procs < 1 || procs > 1024 || !(period_ms > 0.01) || !(seconds > 0))
		return usage();
	wakes = (uint64_t)(seconds * 1000 / period_ms);
	efd = calloc(procs, sizeof(*efd));
	if (!efd)
		return 1;
	for (unsigned int i = 0; i < procs; i++)
		efd[i] = with_driver ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;
	for (unsigned int i = 0; i < procs && with_driver; i++)
		bad += efd[i] < 0;
	if (with_driver && !bad) {
		drv = fork();
		bad += drv < 0;
		if (drv == 0)
			_exit(driver(efd, procs));
	}
	t0 = vsnd__mono_ns();
	for (unsigned int i = 0; i < procs && !bad; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			bad++;
			procs = i; /* wait for those started */
		}
		if (pid == 0)
			_exit(stream(i, (uint64_t)(period_ms * 1e6), wakes, dir, efd[i]));
	}
	free(efd); /* the children have their copies */
	for (unsigned int i = 0; i < procs; i++) {
		pid_t pid = wait4(-1, &status, 0, &ru);

		if (pid < 0)
			return 1;
		if (pid == drv) { /* the driver ended before the streams: it failed */
			bad++;
			drv = 0;
			i--;
			continue;
		}
		bad += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
		cpu += cpu_of(&ru);
	}
	printf("cpu_s %.6f wall_s %.3f wakes %llu", cpu, (vsnd__mono_ns() - t0) / 1e9,
	       (unsigned long long)wakes);
	if (drv > 0) {
		kill(drv, SIGTERM);
		if (wait4(drv, &status, 0, &ru) < 0)
			return 1;
		printf(" driver_cpu_s %.6f", cpu_of(&ru));
	}
	putchar('\n');
	return bad ? 1 : 0;
}
