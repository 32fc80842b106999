# Installed by `make setup` into .venv/etc/ipython/ (read by every kernel of the venv).
# ipykernel >= 7 warns on stderr that a kernel "is running over TCP without
# encryption". The book's kernels are started by nbval/myst-nb on this machine
# and talk over loopback only, so that line is noise in every build log; this
# filter drops exactly that message and leaves every other log line alone.
import logging


class _DropLoopbackTcpWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "running over TCP without encryption" not in record.getMessage()


logging.getLogger("IPKernelApp").addFilter(_DropLoopbackTcpWarning())
