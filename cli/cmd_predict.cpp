// `mlcn predict`: the class of each image with its capsule lengths (JSON or CSV on stdout),
// and, when labels are known (--dataset test, or --labels), the accuracy, the confusion matrix
// and per-class accuracy; --recon DIR writes each input beside its reconstruction as PNG.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cli/checkpoint_arg.h"           // defines: checkpoint_arg
#include "cli/commands.h"
#include "cli/png.h"                      // defines: read_png, write_png
#include "cli/predict_report.h"           // defines: Predictions, print_predictions
#include "cli/run_config.h"               // defines: load_run_config
#include "data/dataset.h"                 // defines: load_dataset
#include "data/idx.h"                     // defines: read_idx_images, read_idx_labels
#include "engine/runtime/lane_runtime.h"  // defines: LaneRuntime
#include "engine/train/trainer.h"         // defines: runtime_options
#include "engine/train/weights.h"         // defines: load_weights

namespace mlcn::cli {
namespace fs = std::filesystem;

namespace {

// --images: an IDX image file (gzipped or raw) or a directory of PNG files (sorted by name).
Dataset read_images(const std::string& src, const InputShape& in, int classes, std::vector<std::string>& names) {
  Dataset d;
  d.H = static_cast<int>(in.H), d.W = static_cast<int>(in.W), d.C = static_cast<int>(in.C), d.classes = classes;
  if (fs::is_directory(src)) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(src))
      if (e.path().extension() == ".png") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    MLCN_CHECK(!files.empty(), src << ": no .png files in the directory");
    for (const fs::path& f : files) {
      Image img = read_png(f.string(), d.C);
      MLCN_CHECK(img.width == d.W && img.height == d.H, f.string() << ": " << img.width << "x" << img.height
                                                                   << " pixels, the model takes " << d.W << "x" << d.H);
      d.images.insert(d.images.end(), img.pixels.begin(), img.pixels.end());
      names.push_back(f.filename().string());
    }
    d.n = static_cast<int64_t>(files.size());
  } else {
    IdxImages idx = read_idx_images(src);
    MLCN_CHECK(d.C == 1 && idx.rows == d.H && idx.cols == d.W,
               src << ": " << idx.rows << "x" << idx.cols << " gray images, the model takes " << d.H << "x" << d.W
                   << "x" << d.C);
    d.n = idx.n;
    d.images = std::move(idx.pixels);
  }
  return d;
}

}  // namespace

int cmd_predict(const Args& a, std::ostream& out) {
  const std::string ckpt = checkpoint_arg(a.require("--checkpoint", "FILE"));
  if (a.has("--images") == a.has("--dataset")) throw UsageError("give --images IDX_OR_DIR or --dataset test");
  if (a.has("--dataset") && a.get("--dataset") != "test")
    throw UsageError("--dataset takes 'test', got '" + a.get("--dataset") + "'");
  if (a.has("--labels") && !a.has("--images")) throw UsageError("--labels goes with --images");
  const std::string format = a.get("--format", "json");
  if (format != "json" && format != "csv") throw UsageError("--format is json or csv, got '" + format + "'");
  const int64_t limit = static_cast<int64_t>(a.get_uint("--limit", 0));
  const Config cfg = load_run_config(a.get("--config"), ckpt, a.all("--set"));
  Model model(model_spec(cfg));
  load_weights(ckpt, model);
  const InputShape in = dataset_shape(cfg.dataset);
  const int classes = static_cast<int>(in.classes);
  std::vector<std::string> names;
  bool labelled = a.has("--dataset");
  Dataset data = labelled ? load_dataset(cfg.dataset, cfg.data_path, "test", limit)
                          : read_images(a.get("--images"), in, classes, names);
  if (limit > 0 && data.n > limit) {
    data.n = limit;
    data.images.resize(size_t(limit) * data.image_bytes());
    if (!names.empty()) names.resize(size_t(limit));
  }
  if (a.has("--labels")) {
    std::vector<uint8_t> l = read_idx_labels(a.get("--labels"), classes);
    MLCN_CHECK(int64_t(l.size()) >= data.n, a.get("--labels") << ": " << l.size() << " labels for " << data.n << " images");
    data.labels.assign(l.begin(), l.begin() + data.n);
    labelled = true;
  }
  if (data.labels.size() != size_t(data.n)) data.labels.assign(size_t(data.n), 0);
  data.labels.resize(size_t(data.n));
  const std::string recon = a.get("--recon");
  if (!recon.empty()) fs::create_directories(recon);

  LaneRuntime rt(model, runtime_options(cfg, model.num_lanes()));
  Predictions p;
  p.classes = classes;
  p.labelled = labelled;
  p.names = names;
  const int64_t B = cfg.batch_size, px = data.image_bytes();
  for (int64_t s = 0; s < data.n; s += B) {
    const int64_t b = std::min(B, data.n - s);
    Tensor x = Tensor::empty({b, data.H, data.W, data.C});  // (B, H, W, C) in [0, 1]
    for (int64_t i = 0; i < b * px; ++i) x.data<float>()[i] = float(data.images[size_t(s * px + i)]) / 255.0f;
    std::vector<int32_t> labels(data.labels.begin() + s, data.labels.begin() + s + b);
    StepResult r = rt.step(x, labels, StepMode::Eval, 0, nullptr);
    for (int64_t i = 0; i < b; ++i) {
      const float* len = r.lengths.data<float>() + i * classes;
      p.lengths.emplace_back(len, len + classes);
      p.labels.push_back(labels[size_t(i)]);
      if (recon.empty()) continue;
      Image img{2 * data.W, data.H, data.C, std::vector<uint8_t>(size_t(2 * data.W) * data.H * data.C)};
      const float* rec = r.recon_images.data<float>() + i * px;  // (H, W, C)
      for (int y = 0; y < data.H; ++y)
        for (int xx = 0; xx < data.W; ++xx)
          for (int c = 0; c < data.C; ++c) {
            const size_t src = (size_t(y) * data.W + xx) * data.C + c;
            img.pixels[(size_t(y) * 2 * data.W + xx) * data.C + c] = data.images[size_t((s + i) * px) + src];
            img.pixels[(size_t(y) * 2 * data.W + data.W + xx) * data.C + c] =
                static_cast<uint8_t>(std::clamp(rec[src] * 255.0f + 0.5f, 0.0f, 255.0f));
          }
      const int pred = static_cast<int>(std::max_element(len, len + classes) - len);
      char name[96];
      std::snprintf(name, sizeof name, "%05lld_pred%d%s.png", (long long)(s + i), pred,
                    labelled ? ("_label" + std::to_string(labels[size_t(i)])).c_str() : "");
      write_png((fs::path(recon) / name).string(), img);
    }
  }
  print_predictions(p, ckpt, format, out);
  if (!recon.empty()) std::fprintf(stderr, "wrote %lld reconstruction(s) to %s\n", (long long)data.n, recon.c_str());
  return 0;
}

}  // namespace mlcn::cli
