// lived: the fixture guest's helper, built with `gcc -static -O2 -pthread`.
//
//   lived hold DIR     make the machine look lived-in and stay there: threads,
//                      a zombie child, flock/POSIX/OFD locks, sockets of each
//                      kind, a known amount of touched memory.
//   lived spin         burn CPU (a task in state R at the crash).
//   lived sleep ARG... sleep forever with a command line of our choosing.
//   lived capture OUT PATTERN...
//                      copy every file matching each glob PATTERN to OUT/PATH,
//                      in the order given, without forking: the capture must
//                      not disturb the pids and counters it records. Paths
//                      that cannot be read are listed in OUT/ABSENT as
//                      "path<TAB>reason".
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void die(const char *what) {
	perror(what);
	exit(1);
}

static void *sleeper(void *arg) {
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static int open_lockfile(const char *dir, const char *name) {
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		die(path);
	if (write(fd, "lock file\n", 10) != 10)
		die("write lock file");
	return fd;
}

static int hold(const char *dir) {
	// Three extra threads: ps -L and /proc/PID/task show four.
	for (int i = 0; i < 3; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, sleeper, NULL) != 0)
			die("pthread_create");
	}

	// A zombie: a child that exits and is never reaped.
	pid_t child = fork();
	if (child == 0)
		_exit(7);

	int fd = open_lockfile(dir, "flock.lock");
	if (flock(fd, LOCK_EX) < 0)
		die("flock");

	fd = open_lockfile(dir, "posix.lock");
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 5};
	if (fcntl(fd, F_SETLK, &fl) < 0)
		die("posix lock");

	fd = open_lockfile(dir, "ofd.lock");
	struct flock ofd = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 2, .l_len = 0};
	if (fcntl(fd, F_OFD_SETLK, &ofd) < 0)
		die("ofd lock");

	int us = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s/lived.sock", dir);
	unlink(sun.sun_path);
	if (us < 0 || bind(us, (struct sockaddr *)&sun, sizeof sun) < 0 || listen(us, 4) < 0)
		die("unix socket");

	int ts = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(ts, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(7777)};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ts < 0 || bind(ts, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(ts, 4) < 0)
		die("tcp socket");

	int ds = socket(AF_INET, SOCK_DGRAM, 0);
	sin.sin_port = htons(7778);
	if (ds < 0 || bind(ds, (struct sockaddr *)&sin, sizeof sin) < 0)
		die("udp socket");

	int t6 = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(7779), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	if (t6 < 0 || bind(t6, (struct sockaddr *)&sin6, sizeof sin6) < 0 || listen(t6, 4) < 0)
		die("tcp6 socket");

	// 8 MiB touched: a known anonymous RSS.
	size_t n = 8 << 20;
	char *mem = malloc(n);
	if (!mem)
		die("malloc");
	for (size_t i = 0; i < n; i += 4096)
		mem[i] = (char)i;

	printf("lived: holding, pid %d, zombie %d\n", getpid(), child);
	fflush(stdout);
	for (;;)
		pause();
}

static int mkdirs(char *path) {
	for (char *p = path + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			if (mkdir(path, 0755) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	}
	return 0;
}

static void absent(FILE *log, const char *path, const char *why) {
	fprintf(log, "%s\t%s\n", path, why);
}

static char buf[1 << 20];

static void copy_one(const char *out, const char *path, FILE *log) {
	struct stat st;
	if (stat(path, &st) < 0) {
		absent(log, path, strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode))
		return;
	int in = open(path, O_RDONLY);
	if (in < 0) {
		absent(log, path, strerror(errno));
		return;
	}
	char dst[4096];
	snprintf(dst, sizeof dst, "%s%s", out, path);
	if (mkdirs(dst) < 0)
		die(dst);
	int o = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (o < 0)
		die(dst);
	for (;;) {
		ssize_t r = read(in, buf, sizeof buf);
		if (r < 0) {
			absent(log, path, strerror(errno));
			break;
		}
		if (r == 0)
			break;
		if (write(o, buf, r) != r)
			die("write capture");
	}
	close(in);
	close(o);
}

static int capture(const char *out, int n, char **patterns) {
	char logpath[4096];
	snprintf(logpath, sizeof logpath, "%s/ABSENT", out);
	FILE *log = fopen(logpath, "a");
	if (!log)
		die(logpath);
	for (int i = 0; i < n; i++) {
		glob_t g;
		int rc = glob(patterns[i], GLOB_NOSORT, NULL, &g);
		if (rc == GLOB_NOMATCH) {
			absent(log, patterns[i], "no such file");
			continue;
		}
		if (rc != 0)
			die("glob");
		for (size_t j = 0; j < g.gl_pathc; j++)
			copy_one(out, g.gl_pathv[j], log);
		globfree(&g);
	}
	fclose(log);
	return 0;
}

int main(int argc, char **argv) {
	if (argc >= 3 && strcmp(argv[1], "hold") == 0)
		return hold(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "spin") == 0) {
		// Locked in memory: a spinner whose stack page was swapped out
		// faults it back in, and in the OOM scenario that fault can be
		// the allocation that panics instead of fixture-oom's.
		if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
			die("mlockall");
		for (volatile unsigned long i = 0;; i++)
			;
	}
	if (argc >= 2 && strcmp(argv[1], "sleep") == 0) {
		for (;;)
			pause();
	}
	if (argc >= 4 && strcmp(argv[1], "capture") == 0)
		return capture(argv[2], argc - 3, argv + 3);
	fprintf(stderr, "usage: lived hold DIR | spin | sleep ARG... | capture OUT PATTERN...\n");
	return 2;
}
