/* rusage RESULT-FILE COMMAND [ARGUMENT...]: run COMMAND, wait for it, and write to
 * RESULT-FILE one line: "<exit status> <user microseconds> <system microseconds> <peak RSS kB>".
 *
 * Why a program of its own: Linux keeps a child's peak RSS (ru_maxrss) at least as high as
 * the memory of the process it was forked from (the high-water mark survives fork and exec),
 * so a benchmark written in Python that has built a million events would see every command
 * it starts use hundreds of megabytes. This launcher is small; what it forks from is small.
 * Built by bench/common.py with the system's C compiler (cc). Public domain. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: rusage RESULT-FILE COMMAND [ARGUMENT...]\n");
        return 2;
    }
    pid_t child = fork();
    if (child < 0) {
        perror("rusage: fork");
        return 2;
    }
    if (child == 0) {
        execvp(argv[2], argv + 2);
        perror("rusage: exec");
        _exit(127);
    }
    int status = 0;
    struct rusage usage;
    if (wait4(child, &status, 0, &usage) < 0) {
        perror("rusage: wait4");
        return 2;
    }
    FILE *result = fopen(argv[1], "w");
    if (result == NULL) {
        perror("rusage: result file");
        return 2;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    fprintf(result, "%d %ld %ld %ld\n", code,
            (long)usage.ru_utime.tv_sec * 1000000L + (long)usage.ru_utime.tv_usec,
            (long)usage.ru_stime.tv_sec * 1000000L + (long)usage.ru_stime.tv_usec,
            usage.ru_maxrss);
    fclose(result);
    return code;
}
