/* hasync_probe's modes that talk to CPG directly (hasync_probe_raw.c). */
#ifndef HASYNC_PROBE_H
#define HASYNC_PROBE_H

/* raw GROUP COUNT SIZE: the raw CPG rate, for comparison with hasync's.
 * inject GROUP: crafted bad messages for a hasync receiver to drop. */
int probe_raw(int argc, char **argv);
int probe_inject(int argc, char **argv);

#endif
