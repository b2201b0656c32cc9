/* out_racer.c - an attacker in the report directory.
 *
 * usage: out_racer DIR FINAL TMP VICTIM
 *   Until DIR/stop exists (at most 30 s) it swaps, as fast as it can, a
 *   FIFO and a hard link to VICTIM in at DIR/FINAL (each made beforehand
 *   under a scratch name, then renamed over FINAL in one step), every so
 *   often a symlink to VICTIM too, and plants a symlink to VICTIM at
 *   DIR/TMP whenever it is missing.  A shim that follows a link, or opens
 *   what it took for a FIFO after it became a hard link, writes into
 *   VICTIM.  The racer checks VICTIM as it goes: each time it finds it
 *   changed it counts a clobber and puts the content back.
 *   Prints "swaps N plants N clobbers N". */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char victim_text[256];
static size_t victim_len;

/* Returns 1 (and restores it) if VICTIM no longer holds its text. */
static int
clobbered(const char *victim)
{
	char buf[256];
	int fd = open(victim, O_RDWR);
	if (fd < 0)
		return 0;
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	struct stat st;
	fstat(fd, &st);
	int changed = n != (ssize_t)victim_len || (size_t)st.st_size != victim_len ||
		      memcmp(buf, victim_text, victim_len) != 0;
	if (changed) {
		if (ftruncate(fd, 0) != 0 ||
		    pwrite(fd, victim_text, victim_len, 0) != (ssize_t)victim_len)
			changed = 1;
	}
	close(fd);
	return changed;
}

int
main(int argc, char **argv)
{
	char final[4096], tmp[4096], stop[4096], fifo[4096], hard[4096], sym[4096];
	unsigned long swaps = 0, plants = 0, clobbers = 0;

	if (argc < 5)
		return 2;
	snprintf(final, sizeof(final), "%s/%s", argv[1], argv[2]);
	snprintf(tmp, sizeof(tmp), "%s/%s", argv[1], argv[3]);
	snprintf(stop, sizeof(stop), "%s/stop", argv[1]);
	snprintf(fifo, sizeof(fifo), "%s/.fifo", argv[1]);
	snprintf(hard, sizeof(hard), "%s/.hard", argv[1]);
	snprintf(sym, sizeof(sym), "%s/.sym", argv[1]);
	const char *victim = argv[4];
	int vfd = open(victim, O_RDONLY);
	if (vfd < 0)
		return 2;
	victim_len = (size_t)read(vfd, victim_text, sizeof(victim_text));
	close(vfd);
	time_t start = time(NULL);

	for (unsigned long i = 0;; i++) {
		if ((i & 63) == 0) {
			if (access(stop, F_OK) == 0 || time(NULL) - start >= 30)
				break;
			clobbers += clobbered(victim);
			if (symlink(victim, sym) == 0 && rename(sym, final) == 0)
				swaps++;
		}
		/* The scratch entries are made while FINAL is something else;
		 * each swap is then a single rename. */
		if (mkfifo(fifo, 0666) == 0 || access(fifo, F_OK) == 0)
			swaps += rename(fifo, final) == 0;
		if (link(victim, hard) == 0 || access(hard, F_OK) == 0)
			swaps += rename(hard, final) == 0;
		if ((i & 15) == 0 && symlink(victim, tmp) == 0)
			plants++;
	}
	clobbers += clobbered(victim);
	unlink(fifo);
	unlink(hard);
	unlink(sym);
	printf("swaps %lu plants %lu clobbers %lu\n", swaps, plants, clobbers);
	return 0;
}
