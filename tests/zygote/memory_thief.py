"""Hostile, with native code (ctypes, which the test's config lets it load):
looks through its own memory for what belongs to other files converted by
the same zygote.

The file that says "victim" makes one refused call (ptrace), stays alive
for a while, then ends its process with exit code 77 and no result, so that
the zygote reports its exit in a record of its own (EXITED, with that exit
code). A file that says "thief", converted after it, searches every
readable page near its heap, its libraries and its stack for the victim's
file name and for the victim's exit record. A file that says "wait" only takes
its time, so that later thieves run after the victim has ended. Every thief
must find nothing, and the victim's result must list its own denial.

(A job's refusals are not in any page of the runner: the kernel tells the
host through the filter's listener. What a job's signal handlers leave for
the zygote lies in a page of the job's own, which no later fork inherits.)

The needles never lie in this process's memory as they are found: the
victim's name is the token it is given (args) reversed, built in place in
one ctypes buffer, and so is the exit record, from the reversed `record`
argument. Pages are copied by the kernel into one fixed buffer and searched
with memmem, so no copy of a page (or of a needle) is left for a later page
to match."""
import ctypes
import os
import time

LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.syscall.restype = ctypes.c_long
LIBC.sbrk.argtypes = (ctypes.c_ssize_t,)
LIBC.sbrk.restype = ctypes.c_void_p
LIBC.memmem.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t)
LIBC.memmem.restype = ctypes.c_void_p

PAGE = 4096
WINDOW = 256 << 20
NR_READ, NR_WRITE, NR_PTRACE = 0, 1, 101


def copy_pages(lo, hi, page_copy):
    """Each readable page of [lo, hi), copied into page_copy: write(2) of a
    page into a pipe fails with EFAULT where nothing readable is mapped. The
    kernel does the reading (raw syscalls, which no sanitizer intercepts), so
    this process only ever reads its own buffer."""
    r, w = os.pipe()
    try:
        for addr in range(lo, hi, PAGE):
            if LIBC.syscall(NR_WRITE, w, ctypes.c_void_p(addr), PAGE) == PAGE:
                LIBC.syscall(NR_READ, r, page_copy, PAGE)
                yield addr
    finally:
        os.close(r)
        os.close(w)


def search(needles):
    page_copy = ctypes.create_string_buffer(PAGE)
    own = [(ctypes.addressof(page_copy), PAGE)] + [(ctypes.addressof(n), ctypes.sizeof(n))
                                                    for n in needles.values()]
    # the heap, the libraries, Python's objects, and the stack (environ lies at its top)
    anchors = [LIBC.sbrk(0), ctypes.cast(LIBC.write, ctypes.c_void_p).value, id(object()),
               ctypes.c_void_p.in_dll(LIBC, "environ").value]
    found = {name: [] for name in needles}
    seen = set()
    for anchor in anchors:
        lo = max(PAGE, (anchor - WINDOW) & ~(PAGE - 1))
        for page in copy_pages(lo, anchor + WINDOW, page_copy):
            if page in seen:
                continue
            seen.add(page)
            for name, needle in needles.items():
                hit = LIBC.memmem(page_copy, PAGE, ctypes.addressof(needle), ctypes.sizeof(needle))
                if not hit:
                    continue
                addr = page + (hit - ctypes.addressof(page_copy))
                if not any(start <= addr < start + size for start, size in own):
                    found[name].append(addr)
    return found, len(seen)


class Thief:
    def convert_file(self, file_path, args):
        role = file_path.read_text().strip()
        if role == "victim":
            LIBC.syscall(ctypes.c_long(NR_PTRACE), 0, 0, 0, 0)  # refused
            time.sleep(float(args.get("linger", 3)))
            os._exit(77)  # no result: the zygote's EXITED record is the victim's last word
        if role == "wait":
            time.sleep(float(args.get("wait", 2.5)))
        if role != "thief":
            return {"status": "Success", "report": {"role": role}}
        token = args["token"].encode()
        name = ctypes.create_string_buffer(len(token) + 7)
        name[:7] = b"victim-"
        for i, c in enumerate(reversed(token)):
            name[7 + i] = c
        record = args["record"].encode()
        exit_record = ctypes.create_string_buffer(len(record))
        for i, c in enumerate(reversed(record)):
            exit_record[i] = c
        found, scanned = search({"name": name, "exit_record": exit_record})
        return {"status": "Success", "report": {"role": role, "scanned": scanned,
                                                "name": found["name"],
                                                "exit_record": found["exit_record"]}}
