// SPDX-License-Identifier: GPL-2.0-or-later
/* CPU ids and random numbers: macros and inline functions the abstractions call. */

#include <linux/cpumask.h>
#include <linux/random.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/uuid.h>

unsigned int rnbd_rs_helper_nr_cpu_ids(void)
{
	return nr_cpu_ids;
}

unsigned int rnbd_rs_helper_num_online_cpus(void)
{
	return num_online_cpus();
}

unsigned int rnbd_rs_helper_raw_smp_processor_id(void)
{
	return raw_smp_processor_id();
}

void rnbd_rs_helper_uuid_gen(unsigned char *out)
{
	uuid_t u;

	uuid_gen(&u);
	memcpy(out, u.b, UUID_SIZE);
}

unsigned int rnbd_rs_helper_get_random_u32_below(unsigned int ceil)
{
	return get_random_u32_below(ceil);
}
