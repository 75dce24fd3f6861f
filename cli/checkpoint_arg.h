// Checkpoint arguments of the CLI: a file or a run directory, checked before anything loads it,
// so a wrong file gets one line that says what it is ("not a safetensors file", "a weights-only
// file", "no checkpoint in DIR") instead of a parser's internals.
#pragma once
#include <string>

namespace mlcn::cli {

// FILE as given; DIR: DIR/best.safetensors, else DIR/last.safetensors (an error when neither).
std::string checkpoint_arg(const std::string& file_or_dir);
// A full training checkpoint (weights, Adam state, epoch): what --resume needs.
void require_training_checkpoint(const std::string& path);
// The config of a weights file or checkpoint, with an error that asks for --config when the
// file carries none (weights written by PyTorch).
std::string stored_config_text(const std::string& path);

}  // namespace mlcn::cli
