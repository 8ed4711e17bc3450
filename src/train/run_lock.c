/* run_lock.c: one training run at a time per run directory, and the directory made ready for it.
 *
 * The lock is an advisory fcntl write lock on DIR/.glia-lock, held from set-up to the end of the
 * run. The kernel drops it when its process ends, however it ends (SIGKILL included), so a
 * killed run never leaves a stale lock; the file itself stays and holds the last holder's PID
 * for people. fcntl locks belong to a process, and closing ANY descriptor of the file drops
 * them, so runs inside one process are kept apart by a list of the directories it holds (by
 * device and inode), checked before the file is opened.
 *
 * Once locked, the directory is made ready: temporary files "*.tmp.PID" left by a killed
 * process (atomic_file.c) are removed when that process is gone, and writing a file in it is
 * tried at once, so that a directory that cannot be written is found before training, not
 * after its first epoch. */
#include "train/loop.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCK_NAME ".glia-lock"
#define MAX_HELD 64 /* run directories one process may hold at once */

struct glia__run_lock {
    int fd;
    dev_t dev;
    ino_t ino;
};

static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;
static struct { dev_t dev; ino_t ino; } held[MAX_HELD];
static int n_held;

static int held_find(dev_t dev, ino_t ino) {
    for (int i = 0; i < n_held; i++)
        if (held[i].dev == dev && held[i].ino == ino) return i;
    return -1;
}

/* "NAME.tmp.PID" of another process that no longer exists: its PID, else 0 */
static long dead_tmp_pid(const char *name) {
    const char *t = strstr(name, ".tmp.");
    while (t && strstr(t + 1, ".tmp.")) t = strstr(t + 1, ".tmp."); /* the last one */
    if (!t || !t[5]) return 0;
    char *end;
    long pid = strtol(t + 5, &end, 10);
    if (*end || pid <= 0 || pid == (long)getpid()) return 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH ? pid : 0;
}

/* removes the temporary files of dead processes; failures are left alone (not our files to
 * insist on, and the next open tries again) */
static void remove_dead_tmps(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[1400];
    while ((e = readdir(d)))
        if (dead_tmp_pid(e->d_name) && snprintf(path, sizeof path, "%s/%s", dir, e->d_name) <
                                           (int)sizeof path)
            unlink(path);
    closedir(d);
}

/* creates and removes a file in dir: the one sure test that files can be written there (access()
 * says yes to root on a read-only mount, and no to nothing that a full disk will refuse) */
static glia_status check_writable(const char *dir) {
    char path[1200];
    snprintf(path, sizeof path, "%s/.glia-write-check.tmp.%ld", dir, (long)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int ok = fd >= 0 && write(fd, "ok\n", 3) == 3, e = errno;
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    if (!ok)
        return glia__err(GLIA_EIO, "%s: the run directory cannot be written (%s: %s); training "
                         "stopped before it started", dir, path, strerror(e));
    return GLIA_OK;
}

glia_status glia__run_lock_take(const char *dir, glia__run_lock **out) {
    *out = NULL;
    char path[1200];
    if (snprintf(path, sizeof path, "%s/" LOCK_NAME, dir) >= (int)sizeof path)
        return glia__err(GLIA_EINVAL, "%s: path too long", dir);
    struct stat st;
    if (stat(dir, &st) != 0)
        return glia__err(GLIA_EIO, "%s: cannot open the run directory: %s", dir, strerror(errno));
    glia__run_lock *k = glia__malloc(sizeof *k);
    if (!k) return glia__err(GLIA_ENOMEM, "%s: out of memory", dir);
    k->fd = -1;
    k->dev = st.st_dev;
    k->ino = st.st_ino;
    glia_status s = GLIA_OK;
    pthread_mutex_lock(&held_mu);
    if (held_find(k->dev, k->ino) >= 0) {
        s = glia__err(GLIA_ESTATE, "%s: the run directory is in use by another training run of "
                      "this process (PID %ld); choose another output directory or wait for it to "
                      "finish", dir, (long)getpid());
    } else if (n_held == MAX_HELD) {
        s = glia__err(GLIA_ESTATE, "%s: this process already holds %d run directories", dir, MAX_HELD);
    } else if ((k->fd = open(path, O_RDWR | O_CREAT, 0644)) < 0) {
        s = glia__err(GLIA_EIO, "%s: the run directory cannot be written (creating its lock file "
                      "%s: %s); training stopped before it started", dir, path, strerror(errno));
    } else {
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        if (fcntl(k->fd, F_SETLK, &fl) != 0) {
            int e = errno;
            struct flock who = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
            long pid = fcntl(k->fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK ? (long)who.l_pid : 0;
            if (e == EACCES || e == EAGAIN) {
                char by[48] = "another process";
                if (pid > 0) snprintf(by, sizeof by, "process %ld", pid);
                s = glia__err(GLIA_ESTATE, "%s: the run directory is in use: %s holds its lock "
                              "(%s) as it trains or resumes there; wait for it to finish, stop it, "
                              "or choose another output directory", dir, by, path);
            } else {
                s = glia__err(GLIA_EIO, "%s: cannot lock %s: %s", dir, path, strerror(e));
            }
        } else {
            /* the holder's PID in the file, for people (the lock is what counts) */
            char pid[32];
            int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
            int noted = ftruncate(k->fd, 0) == 0 && pwrite(k->fd, pid, (size_t)n, 0) == n;
            (void)noted;
            held[n_held].dev = k->dev;
            held[n_held].ino = k->ino;
            n_held++;
        }
    }
    pthread_mutex_unlock(&held_mu);
    if (!s) {
        remove_dead_tmps(dir);
        s = check_writable(dir);
    }
    if (s) {
        glia__run_lock_release(k);
        return s;
    }
    *out = k;
    return GLIA_OK;
}

void glia__run_lock_release(glia__run_lock *k) {
    if (!k) return;
    pthread_mutex_lock(&held_mu);
    int i = k->fd >= 0 ? held_find(k->dev, k->ino) : -1;
    if (i >= 0) held[i] = held[--n_held];
    if (k->fd >= 0) close(k->fd); /* drops the fcntl lock */
    pthread_mutex_unlock(&held_mu);
    free(k);
}
