"""The sandbox an isolated model's worker process enters before it reads a byte of the model.

The worker (kernel/isolated_model.py) runs as the same Unix user as the kernel, so without more a
loader exploit or a memory-corruption bug in a crafted model could read the kernel's environment
(its hub or mlgov token) through ``/proc/<pid>/environ`` or ``mem``, read the user's files
(``~/.ssh``, notebooks), write files, connect to the hub or the mlgov service with a stolen token,
or signal and ptrace the kernel. ``enter()`` takes all of that away with what an unprivileged
process may do to itself on Linux, for the rest of its life and every thread it starts:

- Landlock (kernel >= 5.13; ABI read with ``landlock_create_ruleset``): the file system is
  read-only and only below the Python installation (``sys.prefix``, ``sys.base_prefix``), the
  mlgov package's directory, ``/usr``, ``/lib*``, ``/etc/ld.so.cache`` and four files of the
  worker's own ``/proc/<pid>`` (``maps``, ``stat``, ``status``, ``cgroup``; not its ``net/``,
  ``mountinfo`` or ``environ``); nothing can be written, created, removed, truncated or executed anywhere.
  ABI >= 4: no TCP bind or connect (a decode worker reading a remote store: connect to its
  endpoints' ports only, and TCP is the only socket it may open: no UDP). ABI >= 6: no abstract UNIX socket and no signal outside the
  sandbox. A Landlock domain may also not ptrace (nor open ``/proc/<pid>/mem`` or ``environ``
  of) a process outside it.
- seccomp (libseccomp through ``pyseccomp``): EPERM for ``socket`` of every family (Landlock
  up to ABI 7 does not restrict connecting to a UNIX socket by its path), ``io_uring``,
  ``execve``, ``ptrace``, ``process_vm_readv/writev``, ``pidfd_*``, ``kcmp``,
  ``perf_event_open``, ``bpf``, ``userfaultfd``, keys, namespaces (``unshare``, ``setns``,
  ``clone`` with a ``CLONE_NEW*`` flag), new processes (``fork``, ``vfork``, ``clone``
  without ``CLONE_THREAD``; ``clone3`` answers ENOSYS so that threads use ``clone``),
  ``setsid``, ``setpgid``, mounts, System V and message-queue IPC, memory that ``RLIMIT_DATA``
  does not count (``memfd_create``, ``mmap`` of shared anonymous memory or with
  ``MAP_GROWSDOWN``; the rest of its address space is bounded by ``RLIMIT_AS``, which the worker
  sets), growing a pipe (``fcntl F_SETPIPE_SZ``, its 32-bit ``cmd`` compared masked); ``kill``,
  ``tgkill`` and ``rt_(tg)sigqueueinfo`` only to the worker itself; setting ``prlimit64``, ``setpriority``,
  ``sched_set*``, ``ioprio_set``, ``migrate_pages`` and ``move_pages`` only on pid 0 (itself),
  ``setpriority`` only for ``PRIO_PROCESS`` and ``ioprio_set`` only for
  ``IOPRIO_WHO_PROCESS`` (not the process group or every process of the user).
  Other architectures' system calls (32-bit on x86-64) kill the process.

The model's bytes reach the worker through its stdin pipe, never as a path. ``enter()`` must run
while the process has one thread (thread pools of BLAS or OpenMP start later, inside the
sandbox); otherwise, or when Landlock or libseccomp is missing, it raises ``Unavailable`` with the
reason, and the kernel refuses to run the model unless the user opted out
(``use(name, isolated="unsandboxed")`` or ``MLGOV_ISOLATED=unsandboxed``).
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys

# landlock(7): system call numbers (the same on every architecture) and access rights per ABI
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1
_PR_SET_NO_NEW_PRIVS = 38
# mmap flags: memory RLIMIT_DATA does not count (shared anonymous memory, "stack" mappings)
_MAP_SHARED, _MAP_ANONYMOUS, _MAP_GROWSDOWN = 0x01, 0x20, 0x0100
_F_SETPIPE_SZ = 1031
# Argument rules and the kernel's 32-bit arguments (int, unsigned int): seccomp compares all 64
# bits of the register, the kernel reads the low 32. A rule that denies one value (fcntl's cmd)
# compares through this mask. The flag rules (clone, mmap) test single low bits (MASKED_EQ with
# the bit), which the high half cannot hide; the "!= allowed value" rules (a pid, which) deny
# any other 64-bit value, so high bits can only add denials, never pass one.
_LOW_32 = 0xFFFFFFFF

# denied outright (EPERM); names unknown to this libseccomp or architecture are skipped
DENIED_SYSCALLS = (
    "socket", "socketcall", "socketpair", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_open",
    "pidfd_getfd", "pidfd_send_signal", "tkill", "kcmp", "perf_event_open", "bpf", "userfaultfd",
    "keyctl", "add_key", "request_key", "unshare", "setns", "mount", "umount2", "pivot_root",
    "chroot", "open_by_handle_at", "name_to_handle_at", "fanotify_init", "init_module", "finit_module",
    "kexec_load", "kexec_file_load", "move_mount", "open_tree", "fsopen", "fsmount", "fspick",
    "mount_setattr", "quotactl", "acct", "swapon", "swapoff", "reboot", "syslog", "vmsplice",
    # System V and POSIX message-queue IPC: named by keys and names outside the file system
    "shmget", "shmat", "shmctl", "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semctl",
    "semtimedop", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
    # no new process (threads are clone with CLONE_THREAD): nothing outlives the worker's process
    # group, which close() kills, and no fork bomb; no leaving that group
    "fork", "vfork", "setsid", "setpgid",
    # anonymous memory outside RLIMIT_DATA (with mmap MAP_SHARED|MAP_ANONYMOUS, MAP_GROWSDOWN)
    "memfd_create", "memfd_secret",
)
# system calls that change another process given its pid (limits, priorities, CPUs, memory
# placement): allowed only on "0", the caller itself, as the C library and OpenMP call them;
# (name, index of the pid argument, index of an argument that must be 0 for a read, or None)
OTHERS_PID_SYSCALLS = (("prlimit64", 0, 2), ("setpriority", 1, None), ("ioprio_set", 1, None),
                       ("sched_setaffinity", 0, None), ("sched_setscheduler", 0, None),
                       ("sched_setparam", 0, None), ("sched_setattr", 0, None), ("migrate_pages", 0, None),
                       ("move_pages", 0, None))
# allowed only when their first argument (a process id) is the worker's own
SELF_ONLY_SYSCALLS = ("kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo")
# and those that change more than one process: setpriority only with which == PRIO_PROCESS (not
# PRIO_PGRP, PRIO_USER: every process of the user), ioprio_set only with IOPRIO_WHO_PROCESS;
# (name, index of the "which" argument, the one value allowed)
WHICH_SYSCALLS = (("setpriority", 0, 0), ("ioprio_set", 0, 1))
# clone: only a thread (CLONE_THREAD set), and no new namespace (CLONE_NEWNS, NEWCGROUP, NEWUTS,
# NEWIPC, NEWUSER, NEWPID, NEWNET); clone3, whose flags seccomp cannot read, answers ENOSYS so
# that the C library falls back to clone
_CLONE_THREAD = 0x00010000
_CLONE_NEW = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
# what the worker reads of its own /proc entry (found with strace over predict of scikit-learn
# pipelines, forests, HistGradientBoosting, KMeans: glibc, OpenBLAS, loky's CPU count)
PROC_SELF_FILES = ("maps", "stat", "status", "cgroup")
# socket families a worker that reads an object store over the network may open (AF_INET, AF_INET6)
INTERNET_FAMILIES = (2, 10)
# and only stream sockets of TCP: a socket type (its low 4 bits; the rest are SOCK_NONBLOCK and
# SOCK_CLOEXEC) other than SOCK_STREAM (UDP, raw, ICMP "ping", SCTP's SOCK_SEQPACKET) and a
# protocol other than 0 or IPPROTO_TCP (MPTCP, SCTP: Landlock's port rules cover TCP only) are EPERM
_SOCK_TYPE_MASK, _SOCK_STREAM, _IPPROTO_TCP = 0xF, 1, 6
# TCP Fast Open connects inside sendto/sendmsg (MSG_FASTOPEN) or on the first write after the
# socket option TCP_FASTOPEN_CONNECT, where Landlock's connect rule is not asked (red team R16 N3:
# PostgreSQL and the Jupyter port answered); TCP_FASTOPEN readies a listener. (system call,
# index of its flags argument)
_MSG_FASTOPEN, _TCP_FASTOPEN, _TCP_FASTOPEN_CONNECT = 0x20000000, 23, 30
_SEND_FLAGS = (("sendto", 3), ("sendmsg", 2), ("sendmmsg", 3))


class Unavailable(RuntimeError):
    """The sandbox cannot be set up on this machine (the message says why)."""


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _NetPortAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def landlock_abi() -> int:
    """The Landlock ABI version of the running kernel; 0 if it has none or it is disabled."""
    if not sys.platform.startswith("linux"):
        return 0
    abi = _libc().syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return int(abi) if abi > 0 else 0


def readable_paths(extra=()) -> list[str]:
    """What the worker may read (never write): the Python installation, the mlgov package,
    system libraries, the files of its own /proc entry it reads (PROC_SELF_FILES), and ``extra``
    (the decode worker's data folders). Paths that do not exist are left out. Unavailable if one
    of them is ``/`` or holds the user's home directory (Python installed with prefix ``~``)."""
    import mlgov_jupyter

    paths = {*extra, sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.abspath(mlgov_jupyter.__file__)),
             "/usr", "/lib", "/lib64", "/lib32", "/etc/ld.so.cache",
             # opened, each is /proc/<this pid>/<file>: not the directory (net/, mountinfo, environ)
             *(f"/proc/self/{f}" for f in PROC_SELF_FILES)}
    paths = sorted(p for p in paths if p and os.path.exists(p))
    homes = {os.path.realpath(h) for h in (os.path.expanduser("~"), _passwd_home()) if h and h != "/"}
    for path in paths:
        real = os.path.realpath(path)
        if real == "/" or any(h == real or h.startswith(real.rstrip("/") + "/") for h in homes):
            raise Unavailable(f"the worker would have to read {path}, which holds the home directory")
    return paths


def _passwd_home() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_dir
    except (ImportError, KeyError):
        return ""


def _landlock(abi: int, readable: list[str], tcp: bool = False, ports=()) -> None:
    libc = _libc()
    fs = _FS_BY_ABI.get(abi, (1 << 16) - 1)
    # ABI >= 4: bind never, connect only to ``ports`` (a rule each below) or, tcp without ports, anywhere
    connect = _NET_CONNECT_TCP if not tcp or ports else 0
    attr = _RulesetAttr(fs, _NET_BIND_TCP | connect if abi >= 4 else 0,
                        _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise Unavailable(f"Landlock ruleset refused: {os.strerror(ctypes.get_errno())}")
    try:
        for path in readable:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rights = FS_READ_FILE | (FS_READ_DIR if os.path.isdir(path) else 0)
                rule = _PathBeneathAttr(rights, fd)
                if libc.syscall(_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
                                ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
                    raise Unavailable(f"Landlock rule for {path} refused: {os.strerror(ctypes.get_errno())}")
            finally:
                os.close(fd)
        for port in sorted(set(ports)) if tcp and abi >= 4 else ():
            rule = _NetPortAttr(_NET_CONNECT_TCP, int(port))
            if libc.syscall(_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_NET_PORT),
                            ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
                raise Unavailable(f"Landlock rule for TCP port {port} refused: {os.strerror(ctypes.get_errno())}")
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise Unavailable(f"no_new_privs refused: {os.strerror(ctypes.get_errno())}")
        if libc.syscall(_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise Unavailable(f"Landlock restrict_self refused: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(ruleset)


def _seccomp_filter(tcp: bool = False):
    """A libseccomp filter (allow by default) denying what DENIED_SYSCALLS and
    SELF_ONLY_SYSCALLS name (``tcp``: ``socket`` of the families in INTERNET_FAMILIES
    allowed); Unavailable without pyseccomp or libseccomp."""
    try:
        import pyseccomp as sc
    except (ImportError, OSError, RuntimeError) as exc:  # pyseccomp raises if libseccomp.so is missing
        raise Unavailable(f"seccomp needs libseccomp and pyseccomp ({type(exc).__name__}: {exc})") from None
    flt = sc.SyscallFilter(sc.ALLOW)
    deny = sc.ERRNO(errno.EPERM)
    for name in DENIED_SYSCALLS:
        if tcp and name == "socket":
            continue
        try:
            flt.add_rule(deny, name)
        except (ValueError, OSError, RuntimeError):  # not a system call here
            continue
    if tcp:  # any other family (AF_UNIX: a database's socket, AF_NETLINK, ...) and high bits: EPERM
        low, high = min(INTERNET_FAMILIES), max(INTERNET_FAMILIES)
        flt.add_rule(deny, "socket", sc.Arg(0, sc.LT, low))
        flt.add_rule(deny, "socket", sc.Arg(0, sc.GT, high))
        for family in range(low + 1, high):
            if family not in INTERNET_FAMILIES:
                flt.add_rule(deny, "socket", sc.Arg(0, sc.EQ, family))
        # TCP only (red team R14 finding 4): no UDP, raw or ICMP socket; protocol 0 or IPPROTO_TCP
        for kind in range(_SOCK_TYPE_MASK + 1):
            if kind != _SOCK_STREAM:
                flt.add_rule(deny, "socket", sc.Arg(1, sc.MASKED_EQ, _SOCK_TYPE_MASK, kind))
        flt.add_rule(deny, "socket", sc.Arg(2, sc.GT, _IPPROTO_TCP))
        for protocol in range(1, _IPPROTO_TCP):
            flt.add_rule(deny, "socket", sc.Arg(2, sc.EQ, protocol))
        # connections only through connect(), which Landlock checks (R16 N3), and no listener:
        # listen() without bind() binds a free port itself, past Landlock's bind rule
        for name, flags_arg in _SEND_FLAGS:
            try:
                flt.add_rule(deny, name, sc.Arg(flags_arg, sc.MASKED_EQ, _MSG_FASTOPEN, _MSG_FASTOPEN))
            except (ValueError, OSError, RuntimeError):
                continue
        for option in (_TCP_FASTOPEN, _TCP_FASTOPEN_CONNECT):
            flt.add_rule(deny, "setsockopt", sc.Arg(1, sc.MASKED_EQ, _LOW_32, _IPPROTO_TCP),
                         sc.Arg(2, sc.MASKED_EQ, _LOW_32, option))
        flt.add_rule(deny, "listen")
    try:
        flt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    except (ValueError, OSError, RuntimeError):
        pass
    for bit in _CLONE_NEW:
        flt.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, bit, bit))
    flt.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, _CLONE_THREAD, 0))
    # RLIMIT_DATA counts private writable mappings only: no shared anonymous memory (also
    # MAP_SHARED_VALIDATE, which has the MAP_SHARED bit) and no MAP_GROWSDOWN ("stack") mapping
    shared_anon = _MAP_SHARED | _MAP_ANONYMOUS
    flt.add_rule(deny, "mmap", sc.Arg(3, sc.MASKED_EQ, shared_anon, shared_anon))
    flt.add_rule(deny, "mmap", sc.Arg(3, sc.MASKED_EQ, _MAP_GROWSDOWN, _MAP_GROWSDOWN))
    # pipe buffers are kernel memory outside RLIMIT_DATA: no growing them (F_SETPIPE_SZ). The
    # kernel reads fcntl's cmd as 32 bits and seccomp compares 64: masked, or 0x1_0000_0407 passes
    flt.add_rule(deny, "fcntl", sc.Arg(1, sc.MASKED_EQ, _LOW_32, _F_SETPIPE_SZ))
    for name, which_arg, allowed in WHICH_SYSCALLS:
        try:
            flt.add_rule(deny, name, sc.Arg(which_arg, sc.NE, allowed))
        except (ValueError, OSError, RuntimeError):
            continue
    for name, pid_arg, write_arg in OTHERS_PID_SYSCALLS:
        conditions = [sc.Arg(pid_arg, sc.NE, 0)] + ([sc.Arg(write_arg, sc.NE, 0)] if write_arg is not None else [])
        try:
            flt.add_rule(deny, name, *conditions)
        except (ValueError, OSError, RuntimeError):
            continue
    me = os.getpid()
    for name in SELF_ONLY_SYSCALLS:
        try:
            flt.add_rule(deny, name, sc.Arg(0, sc.NE, me))
        except (ValueError, OSError, RuntimeError):
            continue
    return flt


def enter(readable=(), tcp: bool = False, ports=()) -> str:
    """Confine this process for good (module docstring); returns what was applied, e.g.
    ``"landlock ABI 7 + seccomp"``. ``readable``: more paths it may read (never write), beside
    ``readable_paths()``'s; ``tcp``: it may connect over TCP (IPv4, IPv6: an object store's
    endpoint) and open TCP stream sockets of those families only (no UDP, raw or ICMP socket,
    still no bind, no UNIX socket); ``ports``: then only to these TCP ports (Landlock ABI >= 4;
    any port when empty, or on an older kernel: the result says ``TCP to any port``). Raises
    Unavailable, having applied nothing that the caller could rely on, when Landlock is missing,
    the process has more than one thread, or libseccomp cannot be loaded."""
    if not sys.platform.startswith("linux"):
        raise Unavailable(f"the sandbox needs Linux (Landlock and seccomp), not {sys.platform}")
    abi = landlock_abi()
    if abi < 1:
        raise Unavailable("the Linux kernel offers no Landlock (needs Linux >= 5.13 with landlock "
                          "in its LSM list)")
    try:
        threads = len(os.listdir("/proc/self/task"))
    except OSError:
        threads = 0
    if threads != 1:
        raise Unavailable(f"the worker has {threads or 'an unknown number of'} threads; Landlock "
                          f"would confine only one")
    flt = _seccomp_filter(tcp)  # loads libseccomp before the file system closes
    paths = readable_paths(readable)
    _landlock(abi, paths, tcp, ports)
    try:
        flt.load()
    except (OSError, RuntimeError, ValueError) as exc:
        raise Unavailable(f"seccomp filter refused ({exc})") from None
    if not tcp:
        return f"landlock ABI {abi} + seccomp"
    reach = f"ports {', '.join(map(str, sorted(set(ports))))}" if ports and abi >= 4 else "any port"
    return f"landlock ABI {abi} + seccomp; TCP to {reach}"
