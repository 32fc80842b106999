"""The FAQ page answers every question of the source articles' FAQ sections, each with a link to a lesson.

The five source articles ask about 14 distinct things (duplicates merged). Each is listed here in the book's
own words with the MyST label of the section that answers it; the section must exist and link to at least one
lesson page (`chapters/NN_part/NN_lesson.md`) that exists on disk, so every answer points at code.
"""

import re
from pathlib import Path

import pytest

from .conftest import ROOT

FAQ = ROOT / "chapters" / "09_faq" / "01_faq.md"

# (label, question) for every distinct question of the articles' FAQ sections.
ARTICLE_QUESTIONS = [
    ("faq-what-is-llm", "what a large model is"),
    ("faq-efficiency", "why large models are said to improve efficiency (compute cost 6ND vs 2N per token)"),
    ("faq-overfitting", "whether large models must overfit, and how to fight overfitting"),
    ("faq-choose-model", "how to choose a suitable model"),
    ("faq-how-trained", "how large models are trained"),
    ("faq-applications", "application fields and prospects"),
    ("faq-pros-cons", "advantages and disadvantages"),
    ("faq-optimizer", "how to choose an optimiser"),
    ("faq-compression", "how to compress a model"),
    ("faq-deployment", "how to deploy a model"),
    ("faq-training-efficiency", "how to make training more efficient"),
    ("faq-interpretability", "how to improve interpretability"),
    ("faq-hardware", "what hardware large models need"),
    ("faq-privacy", "how to protect user data privacy during training"),
]

# Questions readers ask when running the book's code.
READER_QUESTIONS = [
    ("faq-gpu-or-cpu", "GPU or CPU"),
    ("faq-colab", "running on Colab"),
    ("faq-nan-loss", "loss becomes NaN or inf"),
    ("faq-out-of-memory", "out of memory"),
    ("faq-reproducibility", "reproducible results"),
    ("faq-slow-cpu", "slow training on a shared CPU (OMP_NUM_THREADS)"),
    ("faq-cjk-glyphs", "Chinese glyphs missing in figures"),
]

LABEL = re.compile(r"^\(([\w-]+)\)=\s*$")
HEADING = re.compile(r"^#{1,6} \S")
LINK = re.compile(r"\]\(([^)\s#]+\.md)(?:#[^)]*)?\)")
LESSON = re.compile(r"^chapters/\d\d_[a-z_]+/\d\d_[\w]+\.md$")


def sections(text: str) -> dict[str, str]:
    """Map each `(label)=` that is directly followed by a heading to its section text (up to the next label/heading)."""
    lines = text.splitlines()
    found, starts = {}, []
    for i, line in enumerate(lines):
        m = LABEL.match(line)
        if m and i + 1 < len(lines) and HEADING.match(lines[i + 1]):
            starts.append((i, m.group(1)))
    for i, label in starts:
        end = len(lines)
        for j in range(i + 2, len(lines)):
            if LABEL.match(lines[j]) or HEADING.match(lines[j]):
                end = j
                break
        found[label] = "\n".join(lines[i:end])
    return found


def lesson_links(section: str) -> list[str]:
    """Relative `.md` links of a section that resolve to an existing lesson page under chapters/."""
    out = []
    for target in LINK.findall(section):
        path = (FAQ.parent / target).resolve()
        try:
            rel = path.relative_to(ROOT).as_posix()
        except ValueError:
            continue
        if path.is_file() and LESSON.match(rel):
            out.append(rel)
    return out


def test_question_lists_have_distinct_labels():
    labels = [label for label, _ in ARTICLE_QUESTIONS + READER_QUESTIONS]
    assert len(labels) == len(set(labels))
    assert len(ARTICLE_QUESTIONS) == 14


@pytest.mark.parametrize("label,question", ARTICLE_QUESTIONS + READER_QUESTIONS)
def test_every_question_has_a_section_that_links_to_a_lesson(label, question):
    found = sections(FAQ.read_text(encoding="utf-8"))
    assert label in found, f"{FAQ.name} has no section ({label})= answering: {question}"
    assert lesson_links(found[label]), f"section ({label})= ({question}) links to no existing lesson .md"


# Questions whose answer is measured in part 8: the section must link that lesson.
PART8_ANSWERS = {
    "faq-training-efficiency": "chapters/08_future/01_efficient_training.md",
    "faq-hardware": "chapters/08_future/04_distributed.md",
    "faq-compression": "chapters/08_future/02_compression.md",
    "faq-deployment": "chapters/08_future/03_deployment.md",
    "faq-privacy": "chapters/08_future/06_privacy_interpretability.md",
    "faq-interpretability": "chapters/08_future/06_privacy_interpretability.md",
}


@pytest.mark.parametrize("label,lesson", sorted(PART8_ANSWERS.items()))
def test_part8_questions_link_their_lesson(label, lesson):
    found = sections(FAQ.read_text(encoding="utf-8"))
    assert lesson in lesson_links(found[label]), f"section ({label})= should link {lesson}"


def test_every_relative_link_on_the_page_exists():
    for target in LINK.findall(FAQ.read_text(encoding="utf-8")):
        if "://" not in target:
            assert (FAQ.parent / target).resolve().is_file(), f"broken link {target} in {FAQ.name}"


def test_missing_label_is_detected():
    text = "(faq-a)=\n### A\n[x](../03_algorithms/02_optimizers.md)\n(faq-b)=\n### B\nno link\n"
    found = sections(text)
    assert set(found) == {"faq-a", "faq-b"}
    assert lesson_links(found["faq-a"]) == ["chapters/03_algorithms/02_optimizers.md"]
    assert lesson_links(found["faq-b"]) == []
    assert "faq-c" not in found
    assert sections("(faq-a)=\nnot a heading\n") == {}
