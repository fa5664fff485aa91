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
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
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

int main(int argc, char **argv) {
	const char *name = strrchr(argv[0], '/');
	name = name ? name + 1 : argv[0];
	if (strcmp(name, "fixture-oom") == 0)
		return oom();
	if (strcmp(name, "fixture-writer") == 0 && argc == 2)
		return writer(argv[1]);
	fprintf(stderr, "usage: fixture-oom | fixture-writer FILE\n");
	return 2;
}
