// The constants of the capsule math, shared by the CPU twins (engine/cpu) and the CUDA kernels
// (kernels/): a leaf header that includes nothing.
//   squash(s) = |s|^2/(1+|s|^2) * s/sqrt(|s|^2 + kSquashEps); length(v) = sqrt(|v|^2 + kLengthEps)
//   margin loss: sum_j T_j max(0, m+ - y_j)^2 + lambda (1 - T_j) max(0, y_j - m-)^2
#pragma once

namespace mlcn {
inline constexpr double kSquashEps = 1e-7;  // Keras K.epsilon(), spec 1.2
inline constexpr double kLengthEps = 1e-7;  // spec 1.6
inline constexpr double kMarginPlus = 0.9, kMarginMinus = 0.1, kMarginLambda = 0.5;  // spec 1.8
}  // namespace mlcn
