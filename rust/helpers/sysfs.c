// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sysfs helpers for rust/sysfs/. Not wrappers of inline functions but a small protocol that
 * needs a module-wide lock and THIS_MODULE, which is why it lives in C:
 *
 * A store that removes the directory it runs in (unmap_device, remove_path, disconnect) must
 * not hold the kernfs active reference of its own file while the directory is removed, or the
 * removal waits for the store forever (R5, N4). sysfs_break_active_protection() drops that
 * reference, but it reads kobj->sd, which kobject_del() clears: a removal running in parallel
 * would make it dereference NULL. So every removal of a Rust-owned directory first sets the
 * object's "removing" flag under rnbd_rs_sysfs_removal_lock, and a self-removing store only
 * breaks its protection under the same lock while the flag is clear. The store also holds a
 * reference to this module, so rmmod cannot unload the code it runs while its file no longer
 * protects it.
 */

#include <linux/device.h>
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sysfs.h>

void rnbd_rs_helper_dev_set_uevent_suppress(struct device *dev, int val)
{
	dev_set_uevent_suppress(dev, val);
}

/* Orders the "removing" flags of this module's directories against the breaks (see above). */
static DEFINE_MUTEX(rnbd_rs_sysfs_removal_lock);

/* Marks a directory as being removed: no self-removing store of it breaks protection after. */
void rnbd_rs_helper_sysfs_mark_removing(bool *removing)
{
	mutex_lock(&rnbd_rs_sysfs_removal_lock);
	*removing = true;
	mutex_unlock(&rnbd_rs_sysfs_removal_lock);
}

/*
 * Called from the store of @attr of @kobj, with the file's active reference held. Returns NULL
 * if the directory is being removed or the module is going away; otherwise the active
 * protection of the file is broken, and a reference to @kobj and one to this module are held
 * until rnbd_rs_helper_sysfs_unbreak_self().
 */
struct kernfs_node *rnbd_rs_helper_sysfs_break_self(struct kobject *kobj,
						    const struct attribute *attr,
						    const bool *removing)
{
	struct kernfs_node *kn = NULL;

	if (!try_module_get(THIS_MODULE))
		return NULL;
	mutex_lock(&rnbd_rs_sysfs_removal_lock);
	if (!*removing)
		kn = sysfs_break_active_protection(kobj, attr);
	mutex_unlock(&rnbd_rs_sysfs_removal_lock);
	if (!kn)
		module_put(THIS_MODULE);
	return kn;
}

/*
 * Undoes rnbd_rs_helper_sysfs_break_self(). May drop the last reference to the kobject (its
 * release runs here); the module reference goes last.
 */
void rnbd_rs_helper_sysfs_unbreak_self(struct kernfs_node *kn)
{
	sysfs_unbreak_active_protection(kn);
	module_put(THIS_MODULE);
}

/*
 * Removes the symlink @name from @kobj unless the directory itself is already gone (removing
 * a directory removes its links; sysfs_remove_link() on a removed one would WARN).
 */
void rnbd_rs_helper_sysfs_remove_link_if_dir(struct kobject *kobj, const char *name)
{
	if (READ_ONCE(kobj->sd))
		sysfs_remove_link(kobj, name);
}
