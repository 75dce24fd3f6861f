// The output of `mlcn predict`: per image its class and capsule lengths, and with labels the
// accuracy, confusion matrix (rows: label, columns: predicted class) and per-class accuracy.
// JSON: one object; CSV: one row per image on stdout, the summary as text on stderr.
#pragma once
#include <ostream>
#include <string>
#include <vector>

namespace mlcn::cli {

struct Predictions {
  int classes = 0;
  bool labelled = false;
  std::vector<std::string> names;            // image file names (PNG directory), else empty
  std::vector<std::vector<float>> lengths;   // (N, classes)
  std::vector<int> labels;                   // (N), meaningful when labelled
};

void print_predictions(const Predictions& p, const std::string& checkpoint, const std::string& format,
                       std::ostream& out);

}  // namespace mlcn::cli
