import os

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("LLMBOOK_PROGRESS", "none")
