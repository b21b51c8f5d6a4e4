/* SPDX-License-Identifier: MIT */
#include "vsnd/vsnd.h"

const char *vsnd_version(void)
{
	/* the header's string as this library was built: its own version */
	return VSND_VERSION_STRING;
}
