"""The seccomp filter bubblewrap installs on a student's kernel.

Namespaces, an unprivileged uid and no capabilities already stop what these system
calls could do with privilege; the filter removes the kernel surface itself. A
notebook has no business creating user namespaces (where it is root and can mount),
tracing processes, loading BPF programs or touching keyrings, and each of those has
been the door of a Linux privilege escalation. Refused calls fail with EPERM, as they
would in a container, so code that merely probes them gets an ordinary OSError.

The filter is compiled by libseccomp (through `pyseccomp`, a ctypes binding) into a
classic BPF program that bubblewrap reads from a file descriptor (`--seccomp FD`).
"""

from __future__ import annotations

import errno
import functools
import tempfile

# Each refused with EPERM. Calls unknown to this machine's libseccomp are skipped.
DENIED = (
    # namespaces and mounts: a user namespace makes the notebook root inside it
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "mount_setattr",
    "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree",
    # other processes' memory
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    # kernel surface with a record of escalations
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "keyctl", "add_key", "request_key",
    # the machine itself
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "reboot", "swapon", "swapoff", "acct", "syslog", "quotactl", "open_by_handle_at",
    "iopl", "ioperm", "settimeofday", "clock_settime", "adjtimex", "clock_adjtime",
)  # fmt: skip

# clone() flags that create namespaces; plain fork and threads pass.
NAMESPACE_FLAGS = {
    "CLONE_NEWTIME": 0x00000080,
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}


@functools.cache
def compiled_filter() -> bytes | None:
    """The filter as BPF bytes, or None where libseccomp is missing (the report says so)."""
    try:
        import pyseccomp as sc
    except (ImportError, OSError):
        return None
    flt = sc.SyscallFilter(sc.ALLOW)
    for name in DENIED:
        try:
            flt.add_rule(sc.ERRNO(errno.EPERM), name)
        except (ValueError, OSError, RuntimeError):
            continue  # not a system call on this architecture
    for flag in NAMESPACE_FLAGS.values():
        flt.add_rule(sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    # clone3 passes its flags in memory a filter cannot read: ENOSYS makes glibc fall
    # back to clone(), whose flags it can (what Docker's default profile does too).
    flt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    with tempfile.TemporaryFile() as fh:
        flt.export_bpf(fh)
        fh.seek(0)
        return fh.read()
