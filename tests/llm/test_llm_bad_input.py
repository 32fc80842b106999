"""Bad input to helpers.llm (book_model, bpe, corpus, pretrain) raises an error naming the argument."""

import pytest
import torch

from helpers.llm import corpus as C
from helpers.llm.book_model import book_recipe, hf_config, read_training_log, sha256_of
from helpers.llm.bpe import ByteBPE, PretrainedTokenizer
from helpers.llm.pretrain import encode_text, nats_per_char, sample_windows
from helpers.models.llama import LlamaConfig


# book_model ------------------------------------------------------------------------------------

def test_hf_config_refuses_a_dict():
    config = LlamaConfig(vocab_size=10, n_embd=16, n_layer=1, n_head=2, intermediate_size=32, max_seq_len=8)
    with pytest.raises(TypeError, match="config is a dict; pass a helpers.models.LlamaConfig"):
        hf_config(vars(config))


def test_files_of_a_folder_that_is_not_a_book_model_are_reported_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        book_recipe(tmp_path)
    with pytest.raises(FileNotFoundError, match="log.jsonl"):
        read_training_log(tmp_path)
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        sha256_of(tmp_path / "model.safetensors")


# bpe -------------------------------------------------------------------------------------------

def test_pretrained_tokenizer_refuses_bytes():
    tok = PretrainedTokenizer("chars", lambda t: [ord(c) for c in t], lambda ids: "".join(map(chr, ids)), 256, "test")
    with pytest.raises(TypeError, match="text must be str, got bytes"):
        tok.encode(b"abc")


# corpus ----------------------------------------------------------------------------------------

def test_line_functions_refuse_non_strings():
    with pytest.raises(TypeError, match="line is a bytes; pass a str"):
        C.clean_line("人民日报".encode())
    with pytest.raises(TypeError, match="line is a list; pass a str"):
        C.is_headline(["标题"])
    with pytest.raises(ValueError, match="max_chars=0 must be >= 1"):
        C.is_headline("标题", max_chars=0)
    with pytest.raises(TypeError, match="text is a NoneType; pass a str"):
        C.held_out_score(None)


def test_split_documents_refuses_a_percentage():
    with pytest.raises(ValueError, match="held_out=5.0 must be <= 1.0"):
        C.split_documents(["一", "二"], 5.0)


def test_poetry_documents_refuses_a_bad_max_poems_before_loading():
    with pytest.raises(ValueError, match="max_poems=0 must be >= 1"):
        C.poetry_documents(max_poems=0, download=False)
    with pytest.raises(TypeError, match="max_poems=10.5 is a float"):
        C.poetry_documents(max_poems=10.5, download=False)


def test_corpus_text_refuses_an_unknown_part_and_source():
    corpus = C.Corpus(train={"reviews": ["好"]}, held_out={"reviews": ["差"]})
    with pytest.raises(ValueError, match="part='test'"):
        corpus.text("test", "reviews")
    with pytest.raises(ValueError, match="source='poetry'"):
        corpus.text("train", "poetry")


# pretrain --------------------------------------------------------------------------------------

def test_encode_text_refuses_a_pretrained_tokenizer_and_bytes():
    tok = ByteBPE()
    with pytest.raises(TypeError, match="tok is a PretrainedTokenizer"):
        encode_text(PretrainedTokenizer("x", list, bytes, 256, "test"), "abc")
    with pytest.raises(TypeError, match="text is a bytes; pass a str"):
        encode_text(tok, b"abc")


def test_sample_windows_refuses_bad_weights_and_short_streams():
    streams, g = [torch.arange(20), torch.arange(20)], torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="one non-negative number per stream"):
        sample_windows(streams, [1.0], 2, 4, g)
    with pytest.raises(ValueError, match="one non-negative number per stream"):
        sample_windows(streams, [0.0, 0.0], 2, 4, g)
    with pytest.raises(ValueError, match=r"stream 0 has 20 ids; a window needs seq_len \+ 1 = 20"):
        sample_windows(streams, [1.0, 1.0], 2, 19, g)
    with pytest.raises(TypeError, match="generator is a int"):
        sample_windows(streams, [1.0, 1.0], 2, 4, 0)


def test_nats_per_char_refuses_bad_ids_and_sizes():
    model = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="n_chars=0 must be >= 1"):
        nats_per_char(model, torch.arange(5), 0, 4, 0)
    with pytest.raises(ValueError, match="ids must be a non-empty 1-D integer tensor"):
        nats_per_char(model, torch.zeros(5), 5, 4, 0)
    with pytest.raises(TypeError, match="model is a str"):
        nats_per_char("model", torch.arange(5), 5, 4, 0)
