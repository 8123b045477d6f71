/* Work off a task's critical path (decrypting a key while the network is
 * busy, the cosign half beside the notary half) runs in its own thread at
 * a lower CPU priority: on a busy host the critical path, and the servers
 * it waits for, get the cores first. Linux per-thread nice, best effort. */
#ifndef COMMON_BACKGROUND_H
#define COMMON_BACKGROUND_H

/* Lower the calling thread's priority by increment (1..19). */
void background_priority(int increment);

#endif
