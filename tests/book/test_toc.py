"""The table of contents: nine numbered parts in order, each with an overview page, no orphans."""

import re

import yaml

from .conftest import ROOT, lesson_sources, toc_files

PARTS = ["01_background", "02_concepts", "03_algorithms", "04_maths", "05_practice",
         "06_applications", "07_tools", "08_future", "09_faq"]


def test_every_toc_entry_exists():
    for f in toc_files():
        assert (ROOT / f"{f}.md").is_file(), f"_toc.yml lists {f} but {f}.md does not exist"


def test_nine_parts_in_order_with_chinese_captions_then_appendix():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    assert toc["root"] == "intro"
    parts = toc["parts"]
    assert [p["chapters"][0]["file"] for p in parts] == [f"chapters/{n}/index" for n in PARTS] + ["chapters/appendix/index"]
    for p in parts[:9]:
        assert p.get("numbered") is True
        assert re.search(r"[\u4e00-\u9fff]", p["caption"]), p["caption"]


def test_every_part_folder_has_a_real_overview_page():
    for name in PARTS + ["appendix"]:
        text = (ROOT / "chapters" / name / "index.md").read_text(encoding="utf-8")
        assert text.startswith("# "), name
        chinese = len(re.findall(r"[\u4e00-\u9fff]", text))
        assert chinese >= 150, f"{name}/index.md has only {chinese} Chinese characters of prose"


def test_every_lesson_is_listed_and_nothing_unlisted_is_built():
    listed = set(toc_files())
    for md in sorted((ROOT / "chapters").glob("**/*.md")):
        doc = md.relative_to(ROOT).with_suffix("").as_posix()
        assert doc in listed, f"{doc}.md is not in _toc.yml (unwritten lessons get no page)"
    assert lesson_sources(), "no lesson notebooks found"
