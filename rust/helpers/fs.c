// SPDX-License-Identifier: GPL-2.0-or-later
/* Files: the open flags and the static inline functions rust/file.rs needs. */

#include <linux/fcntl.h>
#include <linux/fs.h>

/* filp_open() of path for reading, or reading and writing, O_DIRECT if direct; an ERR_PTR on failure. */
struct file *rnbd_rs_helper_file_open(const char *path, bool write, bool direct)
{
	return filp_open(path, (write ? O_RDWR : O_RDONLY) | O_LARGEFILE | (direct ? O_DIRECT : 0), 0);
}

bool rnbd_rs_helper_file_is_reg(struct file *file)
{
	return S_ISREG(file_inode(file)->i_mode);
}

loff_t rnbd_rs_helper_file_size(struct file *file)
{
	return i_size_read(file_inode(file));
}
