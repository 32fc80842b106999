"""Every public function and class of ``helpers`` has a test that feeds it bad input.

``BAD_INPUT_TESTS`` maps each public name (no leading underscore, defined in the
module) to one test, ``file::function``, whose body calls it under
``pytest.raises``. ``EXEMPT`` lists the names that take no input to get wrong
(no parameters), result containers filled by the library, records of
published facts written in the module's own tables, and exception classes, each
with its reason. A new public function without an entry fails
:func:`test_every_public_name_is_listed`; a new module of ``helpers`` (also
under ``models/`` and ``llm/``, and private modules with public names) without
entries fails :func:`test_every_module_of_helpers_is_listed`. Test files are
named relative to ``tests/`` (``llm/test_bpe.py``). What is checked is that the
listed test exists, uses ``pytest.raises`` and names the function; not which
input it feeds.
"""

import ast
import importlib
import inspect
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
PACKAGE = TESTS.parent / "helpers"

BAD_INPUT_TESTS = {
    "helpers.conv": {
        "conv_output_size": "test_conv.py::test_output_size_matches_torch_on_many_shapes",
        "conv2d_loops": "test_conv.py::test_errors_name_the_bad_values",
        "im2col": "test_conv.py::test_errors_name_the_bad_values",
        "conv2d_unfold": "test_conv.py::test_errors_name_the_bad_values",
        "max_pool2d": "test_conv.py::test_errors_name_the_bad_values",
        "avg_pool2d": "test_conv.py::test_errors_name_the_bad_values",
        "conv2d_num_params": "test_conv_bad_input.py::test_conv2d_num_params_refuses_bad_sizes",
    },
    "helpers.models.cnn": {
        "SimpleCNN": "test_cnn.py::test_simple_cnn_errors",
        "articles_cnn": "test_conv_bad_input.py::test_articles_cnn_refuses_too_small_images",
        "BasicBlock": "test_conv_bad_input.py::test_basic_block_refuses_bad_widths_and_inputs",
        "CifarResNet": "test_cnn.py::test_resnet_errors",
    },
    "helpers.privacy": {
        "split_clients": "test_privacy.py::test_split_errors",
        "label_histogram": "test_privacy_bad_input.py::test_label_histogram_refuses",
        "weighted_average": "test_privacy.py::test_weighted_average_by_hand",
        "local_train": "test_privacy_bad_input.py::test_local_train_refuses_bad_arguments_and_leaves_the_model_alone",
        "fedavg": "test_privacy.py::test_fedavg_errors",
        "per_sample_grads": "test_privacy.py::test_per_sample_grads_equal_a_loop_of_backward_passes",
        "per_sample_norms": "test_privacy_bad_input.py::test_per_sample_norms_refuses_bad_grads",
        "clip_per_sample": "test_privacy.py::test_clipping_bounds_each_norm_and_keeps_small_ones",
        "dp_sgd_step": "test_privacy.py::test_dp_sgd_noise_has_the_stated_scale",
    },
    "helpers.recommend": {
        "MatrixFactorization": "test_recommend.py::test_bad_sizes",
        "rmse": "test_recommend.py::test_bad_training_inputs",
        "train_mf": "test_recommend.py::test_dense_and_lookup_training_paths_agree",
        "low_rank_ratings": "test_recommend.py::test_bad_training_inputs",
    },
    "helpers.deploy": {
        "max_abs_diff": "test_deploy.py::test_max_abs_diff",
        "export_onnx": "test_deploy.py::test_export_arguments_are_checked",
        "check_input": "test_deploy_bad_input.py::test_check_input_refuses",
        "OnnxPredictor": "test_deploy.py::test_predictor_needs_an_existing_file_with_fixed_feature_dims",
    },
    "helpers.cost": {
        "training_flops": "test_cost.py::test_non_positive_inputs_are_rejected_with_their_name",
        "inference_flops_per_token": "test_cost_bad_input.py::test_inference_flops_per_token_refuses_bad_sizes",
        "accelerator_hours": "test_cost.py::test_non_positive_inputs_are_rejected_with_their_name",
        "training_cost": "test_cost.py::test_non_positive_inputs_are_rejected_with_their_name",
        "inference_cost_per_1k_tokens": "test_cost.py::test_percent_instead_of_fraction_gets_a_hint",
        "break_even_units": "test_cost.py::test_no_break_even_when_every_unit_loses_money",
    },
    "helpers.anomaly": {
        "rolling_zscore": "test_anomaly.py::test_errors",
        "detect_anomalies": "test_anomaly.py::test_threshold_must_be_positive",
    },
    "helpers.augment": {
        "random_crop": "test_augment.py::test_bad_parameters_are_rejected",
        "random_hflip": "test_augment.py::test_bad_parameters_are_rejected",
        "compose": "test_augment_bad_input.py::test_compose_refuses_non_callables_and_nothing",
        "Augmented": "test_augment_bad_input.py::test_augmented_refuses_bad_arguments",
    },
    "helpers.compress": {
        "global_magnitude_prune": "test_compress.py::test_bad_amount_is_rejected",
        "remove_pruning": "test_compress_bad_input.py::test_remove_pruning_refuses_a_state_dict",
        "sparsity": "test_compress.py::test_models_without_prunable_layers_are_rejected",
        "sparse_state_dict": "test_compress_bad_input.py::test_sparse_state_dict_refuses_modules_and_non_tensors",
        "state_dict_bytes": "test_compress.py::test_state_dict_bytes_equals_torch_save",
        "median_latency": "test_compress.py::test_median_latency_restores_mode_and_checks_arguments",
        "quantize_linear_int8": "test_compress.py::test_quantize_linear_int8_checks_arguments",
        "quantize_per_tensor": "test_compress.py::test_quantize_per_tensor_edge_cases_and_errors",
        "dequantize": "test_compress_bad_input.py::test_dequantize_refuses",
        "distillation_loss": "test_compress.py::test_distillation_loss_rejects_bad_hyper_parameters",
    },
    "helpers.distributed": {
        "all_reduce_mean": "test_distributed_bad_input.py::test_all_reduce_mean_refuses_non_float_tensors",
        "launch": "test_distributed.py::test_worker_errors_surface_in_the_parent",
        "run_rank": "test_distributed.py::test_one_rank_in_process",
        "make_optimizer": "test_distributed_bad_input.py::test_make_optimizer_refuses_a_bad_lr",
        "ddp_train_steps": "test_distributed.py::test_one_rank_in_process",
        "ddp_fit": "test_distributed_bad_input.py::test_ddp_fit_refuses_before_touching_distributed",
        "seen_indices": "test_distributed_bad_input.py::test_seen_indices_and_sampler_pitfalls_refuse_bad_sizes",
        "sampler_pitfalls": "test_distributed_bad_input.py::test_seen_indices_and_sampler_pitfalls_refuse_bad_sizes",
        "run_each": "test_distributed.py::test_run_each_runs_several_workers_in_one_launch",
    },
    "helpers.efficiency": {
        "time_per_call": "test_efficiency.py::test_time_per_call_counts_calls_and_rejects_bad_arguments",
        "saved_activation_bytes": "test_efficiency_bad_input.py::test_saved_activation_bytes_refuses_bad_arguments",
        "accumulate_gradients": "test_efficiency.py::test_bad_k_is_rejected",
        "accumulated_step": "test_efficiency_bad_input.py::test_accumulated_step_refuses_a_non_optimizer_and_leaves_the_gradients_alone",
        "run_blocks": "test_efficiency_bad_input.py::test_run_blocks_refuses_bad_blocks_and_inputs",
    },
    "helpers.interpret": {
        "saliency": "test_interpret.py::test_errors",
        "gradient_times_input": "test_interpret_bad_input.py::test_gradient_times_input_refuses_bad_inputs",
        "integrated_gradients": "test_interpret.py::test_errors",
        "randomized_copy": "test_interpret_bad_input.py::test_randomized_copy_refuses_bad_arguments",
    },
    "helpers.logistic": {
        "sigmoid": "test_scratch_bad_input.py::test_elementwise_functions_refuse_non_numbers",
        "bce_loss": "test_logistic.py::test_errors_name_the_bad_value",
        "bce_grad": "test_logistic.py::test_errors_name_the_bad_value",
        "LogisticRegressionGD": "test_logistic.py::test_errors_name_the_bad_value",
    },
    "helpers.optim": {
        "SGD": "test_optim.py::test_errors_name_the_bad_value",
        "Adam": "test_optim.py::test_errors_name_the_bad_value",
        "AdamW": "test_optim.py::test_errors_name_the_bad_value",
    },
    "helpers.plot": {
        "plot_history": "test_plot_bad_input.py::test_plot_history_refuses_a_dict_and_too_few_axes",
        "plot_confusion_matrix": "test_plot.py::test_confusion_matrix_plot_values_and_errors",
        "plot_decision_boundary": "test_plot.py::test_decision_boundary_errors",
    },
    "helpers.recipes": {
        "TensorBatches": "test_recipes.py::test_tensor_batches",
        "crop": "test_recipes_bad_input.py::test_crops_refuse_a_single_image",
        "crop_flip": "test_recipes_bad_input.py::test_crops_refuse_a_single_image",
        "cifar10_data": "test_recipes_bad_input.py::test_cifar10_data_refuses_before_reading",
        "hardware_name": "test_recipes_bad_input.py::test_hardware_name_refuses_a_non_device",
        "resolve_amp": "test_recipes.py::test_amp_resolution",
        "make_optimizer": "test_recipes.py::test_optimizer_and_schedule_factories",
        "make_schedule": "test_recipes.py::test_optimizer_and_schedule_factories",
        "write_json_atomic": "test_recipes.py::test_write_json_atomic_keeps_the_old_file_on_failure",
        "train_cifar10": "test_recipes.py::test_missing_data_names_the_download_command",
    },
    "helpers.scaling": {
        "non_embedding_params": "test_scaling_bad_input.py::test_non_embedding_params_refuses_a_config",
        "gpt_non_embedding_params": "test_scaling_bad_input.py::test_gpt_non_embedding_params_refuses",
        "PowerLawFit": "test_scaling_bad_input.py::test_power_law_fit_refuses_bad_parameters",
        "fit_power_law": "test_scaling.py::test_fit_power_law_rejects_bad_input",
        "fit_power_law_offset": "test_scaling.py::test_offset_and_chinchilla_reject_bad_input",
        "chinchilla_optimal": "test_scaling.py::test_offset_and_chinchilla_reject_bad_input",
    },
    "helpers.scratch": {
        "sigmoid": "test_scratch_bad_input.py::test_elementwise_functions_refuse_non_numbers",
        "log_softmax": "test_scratch_bad_input.py::test_log_softmax_refuses_empty_input_and_a_bad_axis",
        "softmax": "test_scratch_bad_input.py::test_log_softmax_refuses_empty_input_and_a_bad_axis",
        "NumpyMLP": "test_scratch.py::test_bad_configs",
        "train_sgd": "test_scratch.py::test_bad_inputs",
        "numerical_gradient": "test_scratch_bad_input.py::test_numerical_gradient_refuses_bad_arguments",
        "relative_error": "test_scratch.py::test_relative_error_refuses_mismatched_shapes",
        "gradient_check": "test_scratch.py::test_float32_model_is_refused_by_gradient_check",
        "to_torch": "test_scratch.py::test_bad_inputs",
    },
    "helpers.text_features": {
        "CharVocab": "test_text_features.py::test_errors_name_the_problem",
        "bag_of_chars": "test_text_features_bad_input.py::test_bag_of_chars_refuses_a_dict_vocab_and_a_non_bool_binary",
    },
    "helpers.env": {
        "Env": "test_env_bad_input.py::test_env_refuses_bad_fields",
        "seed_everything": "test_env.py::test_seed_must_be_non_negative_int",
        "get_device": "test_env.py::test_requested_device_must_exist",
        "get_scale": "test_env.py::test_scale_from_flag_argument_and_environment",
        "find_upwards": "test_env_bad_input.py::test_find_upwards_refuses",
        "progress_enabled": "test_env.py::test_progress_switch",
        "setup": "test_env_bad_input.py::test_setup_with_a_bad_device_seeds_nothing",
    },
    "helpers.atomic": {
        "atomic_path": "test_atomic_bad_input.py::test_atomic_path_refuses_a_folder_and_a_bad_suffix",
        "write_text_atomic": "test_atomic_bad_input.py::test_write_text_atomic_refuses_bytes_and_creates_nothing",
    },
    "helpers.datasets": {
        "package_file": "test_datasets_bad_input.py::test_package_file_refuses_non_strings",
        "load_review_sentiment": "test_datasets_bad_input.py::test_load_review_sentiment_refuses_a_non_bool",
    },
    "helpers.models.attention": {
        "causal_mask": "test_attention.py::test_causal_mask_rectangular",
        "scaled_dot_product_attention": "test_attention.py::test_errors_name_the_values",
        "MultiHeadAttention": "test_attention.py::test_errors_name_the_values",
        "attention_flops": "test_attention_bad_input.py::test_attention_flops_refuses",
        "sinusoidal_positional_encoding": "test_attention.py::test_errors_name_the_values",
        "SinusoidalPositionalEncoding": "test_attention.py::test_errors_name_the_values",
        "LearnedPositionalEmbedding": "test_attention.py::test_errors_name_the_values",
    },
    "helpers.models.tiled_attention": {
        "online_softmax": "test_tiled_attention.py::test_errors_name_the_values",
        "sliding_window_mask": "test_tiled_attention.py::test_errors_name_the_values",
        "visited_blocks": "test_attention_bad_input.py::test_visited_blocks_refuses_bad_sizes",
        "tiled_attention": "test_tiled_attention.py::test_errors_name_the_values",
        "peak_memory_bytes": "test_attention_bad_input.py::test_peak_memory_bytes_refuses_a_non_callable",
    },
    "helpers._validate": {
        "check_int": "test_validate.py::test_check_int_accepts_ints_and_numpy_ints_and_refuses_the_rest",
        "check_float": "test_validate.py::test_check_float_bounds_and_finiteness",
        "check_type": "test_validate.py::test_check_type_and_choice",
        "check_choice": "test_validate.py::test_check_type_and_choice",
        "as_tensor": "test_validate.py::test_as_tensor_and_check_finite",
        "as_real_array": "test_validate.py::test_as_real_array_names_the_argument",
        "check_finite": "test_validate.py::test_as_tensor_and_check_finite",
        "check_ids": "test_validate.py::test_check_ids_messages",
    },
    "helpers.checkpoint": {
        "save_checkpoint": "test_checkpoint.py::test_extra_with_numpy_values_is_rejected_at_save_time",
        "read_checkpoint": "test_checkpoint_bad_input.py::test_read_checkpoint_refuses_missing_corrupt_and_foreign_files",
        "load_checkpoint": "test_checkpoint.py::test_missing_corrupt_and_foreign_files",
    },
    "helpers.corpora": {
        "integrity_of": "test_corpora_bad_input.py::test_integrity_of_refuses_a_missing_file",
        "download_chinese_poetry": "test_corpora_bad_input.py::test_download_chinese_poetry_refuses_a_non_string_mirror",
        "read_poems": "test_corpora_bad_input.py::test_read_poems_refuses_unknown_collections_before_opening_the_archive",
        "to_simplified": "test_corpora_bad_input.py::test_to_simplified_refuses_bytes",
        "load_chinese_poetry": "test_corpora.py::test_unknown_or_repeated_collection_is_a_clear_error",
        "main": "test_corpora_bad_input.py::test_main_refuses_an_unknown_corpus_and_collection",
    },
    "helpers.data": {
        "Standardizer": "test_data.py::test_standardizer_errors",
        "make_loader": "test_data.py::test_loader_errors",
        "train_val_test_split": "test_data.py::test_split_errors",
    },
    "helpers.downloads": {
        "data_root": "test_downloads_bad_input.py::test_data_root_refuses_a_non_path",
        "Hasher": "test_downloads_bad_input.py::test_hasher_and_checksum_of_refuse_an_unknown_notation",
        "checksum_of": "test_downloads_bad_input.py::test_hasher_and_checksum_of_refuse_an_unknown_notation",
        "md5sum": "test_downloads_bad_input.py::test_md5sum_refuses_a_missing_file",
        "download_verified": "test_downloads.py::test_a_larger_cap_can_be_asked_for_and_a_bad_cap_is_refused",
        "remove_stale_parts": "test_downloads_bad_input.py::test_remove_stale_parts_refuses_a_bad_filename",
        "fetch_file": "test_downloads_bad_input.py::test_fetch_file_refuses_a_dict_remote_and_a_single_url",
        "fetch": "test_downloads.py::test_bad_names_are_rejected",
        "download": "test_downloads.py::test_bad_names_are_rejected",
        "read_idx": "test_downloads.py::test_read_idx_checks_magic_dimensions_and_length",
        "load_mnist": "test_downloads.py::test_bad_names_are_rejected",
        "load_fashion_mnist": "test_downloads_bad_input.py::test_load_fashion_mnist_refuses_an_unknown_split",
        "load_cifar10": "test_downloads_bad_input.py::test_load_cifar10_refuses_an_unknown_split_and_source",
        "main": "test_downloads_bad_input.py::test_main_refuses_an_unknown_dataset",
    },
    "helpers.lm": {
        "UnigramLM": "test_lm.py::test_baseline_errors",
        "BigramLM": "test_lm.py::test_baseline_errors",
        "fixed_windows": "test_lm.py::test_windows_and_schedule_name_bad_arguments",
        "cosine_lr": "test_lm.py::test_windows_and_schedule_name_bad_arguments",
        "configure_optimizer": "test_lm.py::test_windows_and_schedule_name_bad_arguments",
        "evaluate_lm": "test_lm.py::test_windows_and_schedule_name_bad_arguments",
        "train_lm": "test_lm.py::test_train_lm_errors",
    },
    "helpers.lora": {
        "LoRALinear": "test_lora.py::test_lora_hyper_parameters_are_checked",
        "apply_lora": "test_lora.py::test_apply_lora_errors",
        "lora_layers": "test_lora_bad_input.py::test_model_wide_lora_functions_refuse_a_state_dict",
        "merge_lora": "test_lora_bad_input.py::test_model_wide_lora_functions_refuse_a_state_dict",
        "unmerge_lora": "test_lora_bad_input.py::test_model_wide_lora_functions_refuse_a_state_dict",
    },
    "helpers.metrics": {
        "accuracy": "test_metrics.py::test_bad_inputs_give_clear_errors",
        "confusion_matrix": "test_metrics.py::test_bad_inputs_give_clear_errors",
        "precision_score": "test_metrics.py::test_bad_inputs_give_clear_errors",
        "recall_score": "test_metrics.py::test_bad_inputs_give_clear_errors",
        "f1_score": "test_metrics.py::test_bad_inputs_give_clear_errors",
    },
    "helpers.text": {
        "CharTokenizer": "test_text.py::test_bad_vocabularies_are_refused",
        "get_batch": "test_text.py::test_get_batch_errors",
    },
    "helpers.train": {
        "logits_to_labels": "test_train_bad_input.py::test_logits_to_labels_refuses_lists_scalars_and_sequence_logits",
        "evaluate": "test_train.py::test_fit_and_evaluate_name_bad_arguments",
        "fit": "test_train.py::test_fit_and_evaluate_name_bad_arguments",
    },
    "helpers.models.gpt": {
        "GPTConfig": "test_gpt.py::test_config_errors_name_the_bad_value",
        "gpt_num_params": "test_models_bad_input.py::test_gpt_pieces_refuse_a_dict_config",
        "KVCache": "test_models_bad_input.py::test_kv_cache_refuses_a_bad_layer_count",
        "CausalSelfAttention": "test_models_bad_input.py::test_gpt_pieces_refuse_a_dict_config",
        "MLP": "test_models_bad_input.py::test_gpt_pieces_refuse_a_dict_config",
        "Block": "test_models_bad_input.py::test_gpt_pieces_refuse_a_dict_config",
        "GPT": "test_gpt.py::test_sequence_longer_than_block_size_is_refused",
        "GPTClassifier": "test_gpt.py::test_classifier_errors",
    },
    "helpers.models.llama": {
        "LlamaConfig": "test_llama.py::test_config_errors",
        "swiglu_hidden_size": "test_llama_bad_input.py::test_swiglu_hidden_size_refuses_bad_widths",
        "llama_num_params": "test_llama_bad_input.py::test_llama_num_params_and_kv_cache_bytes_refuse_a_dict_and_bad_sizes",
        "kv_cache_bytes": "test_llama_bad_input.py::test_llama_num_params_and_kv_cache_bytes_refuse_a_dict_and_bad_sizes",
        "RMSNorm": "test_llama_bad_input.py::test_modules_refuse_a_dict_config_and_bad_widths",
        "rope_frequencies": "test_llama_bad_input.py::test_rope_functions_refuse_odd_head_dims_and_bad_positions",
        "rope_cos_sin": "test_llama_bad_input.py::test_rope_functions_refuse_odd_head_dims_and_bad_positions",
        "rotate_half": "test_llama_bad_input.py::test_rope_functions_refuse_odd_head_dims_and_bad_positions",
        "apply_rope": "test_llama_bad_input.py::test_rope_functions_refuse_odd_head_dims_and_bad_positions",
        "repeat_kv": "test_llama_bad_input.py::test_repeat_kv_refuses_bad_n_rep_and_shapes",
        "Attention": "test_llama_bad_input.py::test_modules_refuse_a_dict_config_and_bad_widths",
        "SwiGLU": "test_llama_bad_input.py::test_modules_refuse_a_dict_config_and_bad_widths",
        "Block": "test_llama_bad_input.py::test_modules_refuse_a_dict_config_and_bad_widths",
        "Llama": "test_llama.py::test_out_of_vocabulary_ids_and_bad_targets_get_clear_errors",
        "config_from_hf": "test_llama.py::test_config_from_hf_errors",
        "hf_key_to_book": "test_llama.py::test_state_dict_mapping_errors",
        "convert_hf_state_dict": "test_llama.py::test_state_dict_mapping_errors",
        "read_safetensors": "test_llama_bad_input.py::test_read_safetensors_refuses_a_folder_without_weights",
        "load_pretrained": "test_llama.py::test_load_pretrained_errors",
        "download_pretrained": "test_llama.py::test_download_pretrained_errors",
        "chat_prompt": "test_llama.py::test_chat_prompt",
    },
    "helpers.models.mlp": {
        "MLP": "test_mlp.py::test_bad_configs_are_rejected",
        "num_params": "test_models_bad_input.py::test_num_params_refuses_a_state_dict",
        "mlp_num_params": "test_models_bad_input.py::test_mlp_num_params_refuses_bad_widths",
    },
    "helpers.models.resnet": {
        "conv_bn": "test_models_bad_input.py::test_conv_bn_and_residual_refuse_bad_channel_counts",
        "Residual": "test_models_bad_input.py::test_conv_bn_and_residual_refuse_bad_channel_counts",
        "ResNet9": "test_resnet.py::test_errors_name_the_bad_shape",
    },
    "helpers.llm.book_model": {
        "sha256_of": "llm/test_llm_bad_input.py::test_files_of_a_folder_that_is_not_a_book_model_are_reported_missing",
        "hf_config": "llm/test_llm_bad_input.py::test_hf_config_refuses_a_dict",
        "book_key_to_hf": "llm/test_book_model.py::test_names_map_both_ways",
        "save_book_model": "llm/test_book_model.py::test_save_refuses_bad_input_and_leaves_the_old_folder",
        "verify_book_model": "llm/test_book_model.py::test_a_changed_file_is_refused_before_loading",
        "load_book_model": "llm/test_book_model.py::test_a_changed_file_is_refused_before_loading",
        "load_chat_model": "llm/test_book_model.py::test_the_shipped_chat_model_loads_and_matches_its_log",
        "read_training_log": "llm/test_llm_bad_input.py::test_files_of_a_folder_that_is_not_a_book_model_are_reported_missing",
        "book_recipe": "llm/test_llm_bad_input.py::test_files_of_a_folder_that_is_not_a_book_model_are_reported_missing",
    },
    "helpers.llm.bpe": {
        "ByteBPE": "llm/test_bpe.py::test_errors",
        "PretrainedTokenizer": "llm/test_llm_bad_input.py::test_pretrained_tokenizer_refuses_bytes",
        "load_qwen_tokenizer": "llm/test_bpe.py::test_qwen_missing_package",
    },
    "helpers.llm.corpus": {
        "clean_line": "llm/test_llm_bad_input.py::test_line_functions_refuse_non_strings",
        "is_headline": "llm/test_llm_bad_input.py::test_line_functions_refuse_non_strings",
        "held_out_score": "llm/test_llm_bad_input.py::test_line_functions_refuse_non_strings",
        "poetry_documents": "llm/test_llm_bad_input.py::test_poetry_documents_refuses_a_bad_max_poems_before_loading",
        "split_documents": "llm/test_llm_bad_input.py::test_split_documents_refuses_a_percentage",
        "Corpus": "llm/test_llm_bad_input.py::test_corpus_text_refuses_an_unknown_part_and_source",
        "build_corpus": "llm/test_corpus.py::test_bad_arguments_are_named",
    },
    "helpers.llm.chat": {
        "check_messages": "llm/test_chat.py::test_bad_messages_are_refused_with_the_reason",
        "format_chat": "llm/test_chat.py::test_bad_messages_are_refused_with_the_reason",
        "encode_chat": "llm/test_chat.py::test_bad_messages_are_refused_with_the_reason",
        "prompt_ids": "llm/test_chat.py::test_prompt_ids_refuses_what_is_not_a_text",
        "decode_reply": "llm/test_chat.py::test_a_tokenizer_without_chat_markers_is_refused",
    },
    "helpers.llm.sft": {
        "sft_example": "llm/test_sft.py::test_bad_input_is_refused_before_training",
        "sft_examples": "llm/test_sft.py::test_bad_input_is_refused_before_training",
        "collate": "llm/test_sft.py::test_bad_input_is_refused_before_training",
        "reply_tokens": "llm/test_sft.py::test_bad_input_is_refused_before_training",
        "train_sft": "llm/test_sft.py::test_bad_input_is_refused_before_training",
        "sft_loss": "llm/test_sft.py::test_bad_input_is_refused_before_training",
        "generate_replies": "llm/test_sft.py::test_bad_input_is_refused_before_training",
    },
    "helpers.llm.dpo": {
        "token_logprobs": "llm/test_dpo.py::test_bad_input_is_refused",
        "sequence_logprobs": "llm/test_dpo.py::test_bad_input_is_refused",
        "dpo_loss": "llm/test_dpo.py::test_bad_input_is_refused",
        "preference_batch": "llm/test_dpo.py::test_bad_input_is_refused",
        "train_dpo": "llm/test_dpo.py::test_bad_input_is_refused",
    },
    "helpers.llm.grpo": {
        "group_advantages": "llm/test_grpo.py::test_bad_input_is_refused",
        "grpo_loss": "llm/test_grpo.py::test_bad_input_is_refused",
        "sample_group": "llm/test_grpo.py::test_bad_input_is_refused",
        "sample_replies": "llm/test_grpo.py::test_bad_input_is_refused",
        "shared_prompt_logprobs": "llm/test_grpo.py::test_bad_input_is_refused",
        "grpo_step": "llm/test_grpo.py::test_bad_input_is_refused",
    },
    "helpers.llm.evaluate": {
        "exact_match": "llm/test_evaluate.py::test_bad_input_is_refused",
        "standard_error": "llm/test_evaluate.py::test_bad_input_is_refused",
        "bootstrap_ci": "llm/test_evaluate.py::test_bad_input_is_refused",
        "choice_logprobs": "llm/test_evaluate.py::test_bad_input_is_refused",
        "ngram_overlap": "llm/test_evaluate.py::test_bad_input_is_refused",
        "ngram_overlaps": "llm/test_evaluate.py::test_batched_helpers_refuse_bad_input",
        "choice_logprobs_batch": "llm/test_evaluate.py::test_batched_helpers_refuse_bad_input",
        "complete": "llm/test_evaluate.py::test_batched_helpers_refuse_bad_input",
    },
    "helpers.llm.tasks": {
        "is_held_out": "llm/test_tasks.py::test_held_out_is_a_fixed_tenth_of_the_sources",
        "check_task": "llm/test_tasks.py::test_task_items_errors",
        "task_items": "llm/test_tasks.py::test_task_items_errors",
        "build_tasks": "llm/test_tasks.py::test_build_tasks_errors",
        "check_disjoint": "llm/test_tasks.py::test_check_disjoint_names_the_leaked_item",
        "conversation": "llm/test_tasks.py::test_conversation_roles",
    },
    "helpers.llm.classify": {
        "pad_batch": "llm/test_classify.py::test_bad_inputs_are_refused",
        "SequenceClassifier": "llm/test_classify.py::test_bad_inputs_are_refused",
        "train_classifier": "llm/test_classify.py::test_bad_inputs_are_refused",
        "pool": "llm/test_classify.py::test_pool_pooled_features_and_predict_refuse_bad_input",
        "pooled_features": "llm/test_classify.py::test_pool_pooled_features_and_predict_refuse_bad_input",
        "predict": "llm/test_classify.py::test_pool_pooled_features_and_predict_refuse_bad_input",
    },
    "helpers.llm.ngram": {
        "KneserNeyLM": "llm/test_ngram.py::test_bad_input_is_named",
    },
    "helpers.llm.pretrain": {
        "encode_text": "llm/test_llm_bad_input.py::test_encode_text_refuses_a_pretrained_tokenizer_and_bytes",
        "sample_windows": "llm/test_llm_bad_input.py::test_sample_windows_refuses_bad_weights_and_short_streams",
        "nats_per_char": "llm/test_llm_bad_input.py::test_nats_per_char_refuses_bad_ids_and_sizes",
    },
}

EXEMPT = {
    "helpers.corpora": {
        "Collection": "a record of published facts, written in the module's CORPORA table",
        "Corpus": "a record of published facts, written in the module's CORPORA table",
    },
    "helpers.downloads": {
        "DownloadError": "an exception class",
        "Remote": "a record of published facts, written in the module's FILES table",
    },
    "helpers.lm": {
        "LMHistory": "a result container that train_lm fills",
    },
    "helpers.train": {
        "History": "a result container that fit fills",
    },
    "helpers.threads": {
        "configure": "takes no arguments",
        "thread_setting": "takes no arguments",
    },
    "helpers.llm.book_model": {
        "ChecksumError": "an exception class",
    },
    "helpers.llm.tasks": {
        "TaskItem": "a result container that task_items fills",
        "common_words": "takes no arguments",
        "short_reviews": "takes no arguments",
    },
    "helpers.llm.corpus": {
        "peoples_daily_documents": "takes no arguments",
        "review_documents": "takes no arguments",
    },
    "helpers.compress": {
        "quiet_quantization_warnings": "takes no arguments",
    },
    "helpers.distributed": {
        "is_distributed": "takes no arguments",
        "get_rank": "takes no arguments",
        "get_world_size": "takes no arguments",
        "is_main_process": "takes no arguments",
    },
    "helpers.plot": {
        "find_cjk_font": "takes no arguments",
        "install_cjk_font_on_colab": "takes no arguments",
        "use_book_style": "takes no arguments",
    },
    "helpers.recipes": {
        "CifarData": "a result container that cifar10_data fills",
        "CifarRun": "a result container that train_cifar10 fills",
    },
    "helpers.datasets": {
        "MissingDataError": "an exception class",
        "load_mnist_subset": "takes no arguments",
        "load_peoples_daily": "takes no arguments",
        "load_peoples_daily_tagged": "takes no arguments",
    },
}


def _leaves(value):
    """The values inside nested dicts of ``value`` (and the dataclass fields of those values)."""
    for v in (value.values() if isinstance(value, dict) else [value]):
        if isinstance(v, dict):
            yield from _leaves(v)
        else:
            yield v
            if hasattr(v, "__dataclass_fields__"):
                yield from _leaves({f: getattr(v, f) for f in v.__dataclass_fields__})


def _public_names(module_name: str) -> set[str]:
    module = importlib.import_module(module_name)
    return {name for name, obj in vars(module).items()
            if not name.startswith("_") and callable(obj) and getattr(obj, "__module__", None) == module_name}


def _modules_of_helpers() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_module_of_helpers_is_listed():
    modules = _modules_of_helpers()
    assert "helpers.llm.bpe" in modules and "helpers.models.gpt" in modules   # the walk reaches the subpackages
    missing = [m for m in modules if _public_names(m) and m not in BAD_INPUT_TESTS and m not in EXEMPT]
    assert not missing, f"add bad-input tests for the public names of {missing} to BAD_INPUT_TESTS (or EXEMPT)"
    assert not (set(BAD_INPUT_TESTS) | set(EXEMPT)) - set(modules), "listed modules that no longer exist"


@pytest.mark.parametrize("module_name", sorted(set(BAD_INPUT_TESTS) | set(EXEMPT)))
def test_every_public_name_is_listed(module_name):
    listed = set(BAD_INPUT_TESTS.get(module_name, {})) | set(EXEMPT.get(module_name, {}))
    public = _public_names(module_name)
    assert not public - listed, (f"{module_name}: add a bad-input test for {sorted(public - listed)} and list it "
                                 "in BAD_INPUT_TESTS (or, if it takes no input, in EXEMPT with the reason)")
    assert not listed - public, f"{module_name}: {sorted(listed - public)} are listed but no longer public"


def _test_functions(file: str) -> dict[str, ast.FunctionDef]:
    tree = ast.parse((TESTS / file).read_text(encoding="utf-8"))
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


@pytest.mark.parametrize("module_name,name,test_id",
                         [(m, n, t) for m, tests in sorted(BAD_INPUT_TESTS.items()) for n, t in tests.items()])
def test_listed_test_exists_and_calls_the_name_under_pytest_raises(module_name, name, test_id):
    file, function = test_id.split("::")
    node = _test_functions(file).get(function)
    assert node is not None, f"{test_id} (listed for {module_name}.{name}) does not exist"
    source = ast.unparse(node)   # with the decorators: parametrized tests pass the function as an argument
    assert "pytest.raises" in source, f"{test_id} has no pytest.raises"
    assert name in source, f"{test_id} never mentions {name}"


@pytest.mark.parametrize("module_name,name,reason",
                         [(m, n, r) for m, names in sorted(EXEMPT.items()) for n, r in names.items()])
def test_exemptions_are_true(module_name, name, reason):
    obj = getattr(importlib.import_module(module_name), name)
    if reason == "takes no arguments":
        assert not inspect.signature(obj).parameters, f"{module_name}.{name} takes arguments: give it a test"
    elif reason == "an exception class":
        assert isinstance(obj, type) and issubclass(obj, Exception)
    elif reason.startswith("a record of published facts"):
        assert inspect.isclass(obj) and obj.__dataclass_params__.frozen, f"{module_name}.{name} is not a frozen record"
        table = reason.split("module's ")[1].split()[0]
        records = getattr(importlib.import_module(module_name), table)
        assert any(isinstance(r, obj) for r in _leaves(records)), f"{name} is not used in {module_name}.{table}"
    else:
        assert reason.startswith("a result container"), f"unknown reason {reason!r}"
        assert inspect.isclass(obj) and hasattr(obj, "__dataclass_fields__")
