// scenario: the crash scenarios' helper in the kdump guest, built with
// `gcc -static -O2`. It is installed under the names below so that each task's
// comm (the basename of the exec'd path) says what it is.
//
//   fixture-oom      wait for SIGUSR1, then allocate locked memory until the
//                    OOM killer runs (vm.panic_on_oom=1 makes that a panic in
//                    this task's context). The memory is mlocked so that it
//                    cannot go to swap: the OOM comes at once, not after the
//                    swap disk filled.
//   fixture-writer FILE
//                    create FILE and write to it: on a filesystem frozen with
//                    FIFREEZE the open blocks in sb_start_write, in
//                    uninterruptible sleep, until khungtaskd notices.
//   fixture-many FROZEN READY
//                    the many-tasks bench scenario: a server's worth of tasks
//                    of varied kinds (see many() below); writes READY once
//                    all are in place, then sleeps.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t go;

static void on_usr1(int sig) {
	(void)sig;
	go = 1;
}

static int oom(void) {
	const size_t chunk = 16 << 20;
	signal(SIGUSR1, on_usr1);
	while (!go)
		pause();
	if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
		perror("mlockall");
	for (;;) {
		// MAP_POPULATE faults every page in now, under the lock.
		void *p = mmap(NULL, chunk, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (p == MAP_FAILED) {
			perror("mmap");
			sleep(1);
		}
	}
}

static int writer(const char *file) {
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(file);
		return 1;
	}
	if (write(fd, "thawed\n", 7) != 7)
		perror("write");
	close(fd);
	return 0;
}

// The many-tasks layout. Worker processes have threads that sleep in
// different kernel paths (so wchan and the stacks vary), and open files and
// sockets; some live in a mount namespace of their own.
enum {
	MANY_WORKERS = 330,     // processes, each with the threads below
	MANY_THREADS = 5,       // extra threads per worker: 330 * 6 = 1980 tasks
	MANY_STOPPED = 20,      // T: SIGSTOPped workers
	MANY_BLOCKED = 20,      // D: writers on a FIFREEZE-frozen filesystem
	MANY_ZOMBIES = 10,      // Z: children of one parent that never waits
	MANY_SPINNERS = 2,      // R: nice 19 busy loops
	MANY_NS_EVERY = 10,     // every 10th worker unshares its mount namespace
};

static int many_pipe[2];

static void *many_thread(void *arg) {
	long kind = (long)arg;
	char b;
	struct timespec ts = {3600, 0};
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c = PTHREAD_COND_INITIALIZER;
	struct pollfd p = {.fd = many_pipe[0], .events = POLLIN};
	int ep;
	struct epoll_event ev;
	for (;;) {
		switch (kind % 5) {
		case 0: nanosleep(&ts, NULL); break;
		case 1: if (read(many_pipe[0], &b, 1) <= 0) nanosleep(&ts, NULL); break;
		case 2:
			pthread_mutex_lock(&m);
			pthread_cond_wait(&c, &m);
			pthread_mutex_unlock(&m);
			break;
		case 3: poll(&p, 1, -1); break;
		case 4:
			ep = epoll_create1(0);
			ev.events = EPOLLIN;
			ev.data.fd = many_pipe[0];
			epoll_ctl(ep, EPOLL_CTL_ADD, many_pipe[0], &ev);
			epoll_wait(ep, &ev, 1, -1);
			break;
		}
	}
	return NULL;
}

static void many_worker(int i) {
	char path[64];
	int sv[2], fd;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	pthread_attr_t at;
	pthread_t t;
	if (i % MANY_NS_EVERY == 0) {
		if (unshare(CLONE_NEWNS) == 0) {
			mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
			snprintf(path, sizeof path, "size=%dk", 64 + i);
			mount("many", "/mnt", "tmpfs", 0, path);
		} else {
			perror("unshare");
		}
	}
	if (pipe(many_pipe) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		perror("pipe");
	snprintf(path, sizeof path, "/tmp/many/%d", i);
	if ((fd = open(path, O_RDWR | O_CREAT, 0644)) >= 0 && write(fd, path, strlen(path)) < 0)
		perror(path);
	if (i % 5 == 0 && (fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0) {
		a.sin_port = htons(20000 + i);
		if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4) != 0)
			perror("tcp");
	}
	if (i % 7 == 0 && (fd = socket(AF_INET, SOCK_DGRAM, 0)) >= 0) {
		a.sin_port = htons(30000 + i);
		if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0)
			perror("udp");
	}
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, 64 << 10);
	for (long k = 0; k < MANY_THREADS; k++)
		if (pthread_create(&t, &at, many_thread, (void *)(i + k)) != 0)
			perror("pthread_create");
	many_thread((void *)(long)(i + MANY_THREADS));
}

static pid_t many_fork(void (*fn)(int), int i) {
	pid_t p = fork();
	if (p == 0) {
		fn(i);
		_exit(0);
	}
	if (p < 0)
		perror("fork");
	return p;
}

static void many_blocked(int i) {
	char path[64];
	snprintf(path, sizeof path, "blocked-%d", i); // in FROZEN, the cwd
	if (open(path, O_WRONLY | O_CREAT, 0644) < 0) // blocks in sb_start_write
		perror(path);
}

static void many_spin(int i) {
	(void)i;
	if (nice(19) < 0)
		perror("nice");
	for (;;)
		;
}

static void many_zombies(int i) {
	(void)i;
	for (int k = 0; k < MANY_ZOMBIES; k++)
		if (fork() == 0)
			_exit(k);
	for (;;)
		pause();
}

static int many(const char *frozen, const char *ready) {
	FILE *f;
	int i;
	pid_t p;
	if (chdir(frozen) != 0) // many_blocked creates its files here
		perror(frozen);
	if (mkdir("/tmp/many", 0755) != 0 && errno != EEXIST)
		perror("/tmp/many");
	pid_t stopped[MANY_STOPPED];
	for (i = 0; i < MANY_WORKERS; i++) {
		p = many_fork(many_worker, i);
		if (i < MANY_STOPPED)
			stopped[i] = p;
	}
	for (i = 0; i < MANY_BLOCKED; i++)
		many_fork(many_blocked, i);
	for (i = 0; i < MANY_SPINNERS; i++)
		many_fork(many_spin, i);
	many_fork(many_zombies, 0);
	sleep(2); // every child past its setup
	for (i = 0; i < MANY_STOPPED; i++)
		if (stopped[i] > 0)
			kill(stopped[i], SIGSTOP);
	if ((f = fopen(ready, "w")) != NULL)
		fclose(f);
	for (;;)
		pause();
}

int main(int argc, char **argv) {
	const char *name = strrchr(argv[0], '/');
	name = name ? name + 1 : argv[0];
	if (strcmp(name, "fixture-oom") == 0)
		return oom();
	if (strcmp(name, "fixture-writer") == 0 && argc == 2)
		return writer(argv[1]);
	if (strcmp(name, "fixture-many") == 0 && argc == 3)
		return many(argv[1], argv[2]);
	fprintf(stderr, "usage: fixture-oom | fixture-writer FILE | fixture-many FROZEN READY\n");
	return 2;
}
