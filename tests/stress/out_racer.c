/* out_racer.c - an attacker in the report directory.
 *
 * usage: out_racer DIR FINAL TMP VICTIM
 *   Until DIR/stop exists (at most 30 s): puts at DIR/FINAL, in turn, a
 *   FIFO, a hard link to VICTIM and a symlink to VICTIM (each made under a
 *   scratch name and renamed over FINAL, so FINAL always exists), and
 *   plants a symlink to VICTIM at DIR/TMP whenever it is missing.  A shim
 *   that follows a link, or opens what it took for a FIFO after it became
 *   a hard link, writes into VICTIM.
 *   Prints how many swaps it made. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	char final[4096], tmp[4096], stop[4096], scratch[4096];
	unsigned long swaps = 0, plants = 0;

	if (argc < 5)
		return 2;
	snprintf(final, sizeof(final), "%s/%s", argv[1], argv[2]);
	snprintf(tmp, sizeof(tmp), "%s/%s", argv[1], argv[3]);
	snprintf(stop, sizeof(stop), "%s/stop", argv[1]);
	snprintf(scratch, sizeof(scratch), "%s/.scratch", argv[1]);
	const char *victim = argv[4];
	time_t start = time(NULL);

	for (unsigned long i = 0; time(NULL) - start < 30; i++) {
		if ((i & 255) == 0 && access(stop, F_OK) == 0)
			break;
		unlink(scratch);
		int ok;
		switch (i % 3) {
		case 0: ok = mkfifo(scratch, 0666) == 0; break;
		case 1: ok = link(victim, scratch) == 0; break;
		default: ok = symlink(victim, scratch) == 0; break;
		}
		if (ok && rename(scratch, final) == 0)
			swaps++;
		if (symlink(victim, tmp) == 0)
			plants++;
	}
	unlink(scratch);
	printf("swaps %lu plants %lu\n", swaps, plants);
	return 0;
}
