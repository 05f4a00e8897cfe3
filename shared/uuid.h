/*
 * uuid.h: UUIDs in the text form eventsource-py writes (lowercase,
 * hyphenated), and fresh random ones.
 */
#ifndef EVBUS_UUID_H
#define EVBUS_UUID_H

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */
#define EVBUS_UUID_LEN		36

/* A fresh random UUID4, lowercase and hyphenated, into buf (37 bytes). */
void	 evbus_uuid4(char buf[EVBUS_UUID_LEN + 1]);

/*
 * Normalise a UUID (hyphenated in any case, or 32 hex digits) to the
 * lowercase hyphenated form.  Returns 0 or -1 when s is not a UUID.
 */
int	 evbus_uuid_normalize(const char *s, char out[EVBUS_UUID_LEN + 1]);

#endif
