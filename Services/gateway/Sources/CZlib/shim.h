// zlib from Debian's zlib1g-dev, for inflating gzip request bodies in the gateway.
#include <zlib.h>
