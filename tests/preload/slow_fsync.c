/* An LD_PRELOAD shim for tests: every fsync() first sleeps MAILGATE_TEST_FSYNC_DELAY_MS
   milliseconds, like a disk under load, then does the real fsync. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

int fsync(int fd) {
    static int (*real_fsync)(int);
    if (real_fsync == NULL) {
        real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    }
    const char* delay = getenv("MAILGATE_TEST_FSYNC_DELAY_MS");
    if (delay != NULL) {
        const long ms = strtol(delay, NULL, 10);
        struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&pause, &pause) != 0) {
        }
    }
    return real_fsync(fd);
}
