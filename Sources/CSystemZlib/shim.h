// The system's zlib (zlib1g-dev on Debian/Ubuntu), for MockFAL's zip reader.
#include <zlib.h>
