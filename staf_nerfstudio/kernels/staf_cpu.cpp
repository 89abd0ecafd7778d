// Fused STAF activation kernels for the CPU: sigma(z) = sum_i a_i sin(w_i z + p_i) and its backward.
//
// Built at first use by staf_nerfstudio/kernels/cpu_staf.py (plain C ABI, loaded with ctypes, no torch headers, so
// it compiles in about a second). The Python side splits the rows between threads and hands each call one chunk.
//
// Layout: z, grad_out, out, grad_z are (rows, F) row-major; the parameters are given per term and feature as
// (tau, F) row-major (shared parameters are broadcast over F by the caller), so the innermost loop runs over F with
// unit stride and the compiler vectorizes it (glibc's libmvec supplies vector sin/cos; see _FLAGS in cpu_staf.py).
// Nothing of size tau * rows * F is ever written: each term is recomputed in the backward.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

namespace {

inline float vsin(float x) { return sinf(x); }
inline float vcos(float x) { return cosf(x); }
inline double vsin(double x) { return sin(x); }
inline double vcos(double x) { return cos(x); }

template <typename T>
void forward(const T* __restrict z, const T* __restrict a, const T* __restrict w, const T* __restrict p,
             T* __restrict out, int64_t rows, int64_t F, int64_t tau) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* __restrict zr = z + r * F;
    T* __restrict o = out + r * F;
    for (int64_t f = 0; f < F; ++f) o[f] = T(0);
    for (int64_t i = 0; i < tau; ++i) {
      const T* __restrict ai = a + i * F;
      const T* __restrict wi = w + i * F;
      const T* __restrict pi = p + i * F;
      for (int64_t f = 0; f < F; ++f) o[f] += ai[f] * vsin(wi[f] * zr[f] + pi[f]);
    }
  }
}

// Rows are summed in blocks of kBlock into T scratch sums, each block's sums then added to the double accumulators
// acc (3, tau, F): [0] sum g sin(.), [1] sum g cos(.), [2] sum g z cos(.). The caller turns them into the amplitude,
// phase and frequency gradients (multiplying [1] and [2] by a) and reduces over F for shared parameters.
constexpr int64_t kBlock = 64;

template <typename T>
int backward(const T* __restrict g, const T* __restrict z, const T* __restrict aw, const T* __restrict w,
             const T* __restrict p, T* __restrict gz, double* __restrict acc, int64_t rows, int64_t F, int64_t tau) {
  const int64_t n = tau * F;
  T* scratch = static_cast<T*>(malloc(sizeof(T) * 3 * (n > 0 ? n : 1)));
  if (scratch == nullptr) return 1;
  T* __restrict s_sin = scratch;
  T* __restrict s_cos = scratch + n;
  T* __restrict s_zcos = scratch + 2 * n;
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
    const int64_t r1 = r0 + kBlock < rows ? r0 + kBlock : rows;
    for (int64_t k = 0; k < 3 * n; ++k) scratch[k] = T(0);
    for (int64_t r = r0; r < r1; ++r) {
      const T* __restrict gr = g + r * F;
      const T* __restrict zr = z + r * F;
      T* __restrict gzr = gz + r * F;
      for (int64_t f = 0; f < F; ++f) gzr[f] = T(0);
      for (int64_t i = 0; i < tau; ++i) {
        const T* __restrict awi = aw + i * F;
        const T* __restrict wi = w + i * F;
        const T* __restrict pi = p + i * F;
        T* __restrict si = s_sin + i * F;
        T* __restrict ci = s_cos + i * F;
        T* __restrict zci = s_zcos + i * F;
        // Two loops, not one: in one loop the compiler merges sin and cos into a scalar sincos call.
        for (int64_t f = 0; f < F; ++f) {
          const T gc = gr[f] * vcos(wi[f] * zr[f] + pi[f]);
          gzr[f] += awi[f] * gc;
          ci[f] += gc;
          zci[f] += gc * zr[f];
        }
        for (int64_t f = 0; f < F; ++f) si[f] += gr[f] * vsin(wi[f] * zr[f] + pi[f]);
      }
    }
    for (int64_t k = 0; k < 3 * n; ++k) acc[k] += static_cast<double>(scratch[k]);
  }
  free(scratch);
  return 0;
}

}  // namespace

extern "C" {

int staf_abi_version() { return 1; }

void staf_forward_f32(const float* z, const float* a, const float* w, const float* p, float* out, int64_t rows,
                      int64_t F, int64_t tau) {
  forward<float>(z, a, w, p, out, rows, F, tau);
}

void staf_forward_f64(const double* z, const double* a, const double* w, const double* p, double* out, int64_t rows,
                      int64_t F, int64_t tau) {
  forward<double>(z, a, w, p, out, rows, F, tau);
}

int staf_backward_f32(const float* g, const float* z, const float* aw, const float* w, const float* p, float* gz,
                      double* acc, int64_t rows, int64_t F, int64_t tau) {
  return backward<float>(g, z, aw, w, p, gz, acc, rows, F, tau);
}

int staf_backward_f64(const double* g, const double* z, const double* aw, const double* w, const double* p,
                      double* gz, double* acc, int64_t rows, int64_t F, int64_t tau) {
  return backward<double>(g, z, aw, w, p, gz, acc, rows, F, tau);
}

}  // extern "C"
