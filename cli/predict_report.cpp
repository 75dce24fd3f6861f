// Printing predictions; see predict_report.h.
#include "cli/predict_report.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

namespace mlcn::cli {

void print_predictions(const Predictions& p, const std::string& checkpoint, const std::string& format,
                       std::ostream& out) {
  const size_t n = p.lengths.size(), K = static_cast<size_t>(p.classes);
  std::vector<int> pred(n);
  std::vector<std::vector<int64_t>> confusion(K, std::vector<int64_t>(K, 0));
  int64_t correct = 0;
  for (size_t i = 0; i < n; ++i) {
    pred[i] = static_cast<int>(std::max_element(p.lengths[i].begin(), p.lengths[i].end()) - p.lengths[i].begin());
    if (p.labelled) {
      ++confusion[size_t(p.labels[i])][size_t(pred[i])];
      correct += pred[i] == p.labels[i];
    }
  }
  std::vector<double> per_class(K, -1);  // -1: no image of that class
  for (size_t k = 0; k < K; ++k) {
    int64_t total = 0;
    for (int64_t c : confusion[k]) total += c;
    if (total) per_class[k] = double(confusion[k][k]) / double(total);
  }
  const double accuracy = n ? double(correct) / double(n) : 0.0;
  if (format == "json") {
    nlohmann::json j = {{"checkpoint", checkpoint}, {"images", n}, {"predictions", nlohmann::json::array()}};
    for (size_t i = 0; i < n; ++i) {
      nlohmann::json e = {{"index", i}, {"class", pred[i]}, {"lengths", p.lengths[i]}};
      if (!p.names.empty()) e["file"] = p.names[i];
      if (p.labelled) e["label"] = p.labels[i];
      j["predictions"].push_back(e);
    }
    if (p.labelled) {
      j["accuracy"] = accuracy;
      j["confusion"] = confusion;
      j["per_class_accuracy"] = nlohmann::json::array();
      for (double v : per_class) j["per_class_accuracy"].push_back(v < 0 ? nlohmann::json() : nlohmann::json(v));
    }
    out << j.dump() << "\n";
    return;
  }
  out << "index" << (p.names.empty() ? "" : ",file") << (p.labelled ? ",label" : "") << ",class";
  for (size_t k = 0; k < K; ++k) out << ",length_" << k;
  out << "\n";
  for (size_t i = 0; i < n; ++i) {
    out << i << (p.names.empty() ? "" : "," + p.names[i]) << (p.labelled ? "," + std::to_string(p.labels[i]) : "")
        << "," << pred[i];
    char b[32];
    for (float v : p.lengths[i]) {
      std::snprintf(b, sizeof b, ",%.6f", v);
      out << b;
    }
    out << "\n";
  }
  if (!p.labelled) return;
  std::ostringstream s;
  char b[128];
  std::snprintf(b, sizeof b, "accuracy %.4f on %zu images\nconfusion (rows: label, columns: class)\n", accuracy, n);
  s << b;
  for (size_t k = 0; k < K; ++k) {
    for (int64_t c : confusion[k]) {
      std::snprintf(b, sizeof b, "%7lld", (long long)c);
      s << b;
    }
    if (per_class[k] < 0) std::snprintf(b, sizeof b, "   class %zu: no images\n", k);
    else std::snprintf(b, sizeof b, "   class %zu accuracy %.4f\n", k, per_class[k]);
    s << b;
  }
  std::fputs(s.str().c_str(), stderr);
}

}  // namespace mlcn::cli
