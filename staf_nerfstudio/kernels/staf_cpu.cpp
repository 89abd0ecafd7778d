// Fused STAF activation kernels for the CPU: sigma(z) = sum_i a_i sin(w_i z + p_i) and its backward.
//
// Built at first use by staf_nerfstudio/kernels/cpu_staf.py (plain C ABI, loaded with ctypes, no torch headers, so
// it compiles in about a second). Each call splits its rows into chunks over the OpenMP team (see forward_chunks); a
// build without OpenMP runs its chunks in turn and the Python side spreads single-chunk calls over a thread pool.
//
// Layout: z, grad_out, out, grad_z are (rows, F) row-major; the parameters are given per term and feature as
// (tau, F) row-major (shared parameters are broadcast over F by the caller), so the innermost loop runs over F with
// unit stride and the compiler vectorizes it (glibc's libmvec supplies vector sin/cos; see _FLAGS in cpu_staf.py).
// Nothing of size tau * rows * F is ever written: each term is recomputed in the backward.
//
// float32 has a faster path: sin and cos from one range reduction and two short polynomials (below), inlined and
// vectorized with the rest of the loop, used for a chunk when every argument |w z + p| of it is below kPolyLimit
// (bounded from max |z|, max |w| and max |p| in one pass over z); otherwise, and for float64, libmvec's sin/cos.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

namespace {

inline float vsin(float x) { return sinf(x); }
inline float vcos(float x) { return cosf(x); }
inline double vsin(double x) { return sin(x); }
inline double vcos(double x) { return cos(x); }

// Below this the reduction is accurate to about 1e-7 absolute: j = rint(x 2/pi) has at most 17 bits, so j times the
// 8-bit leading part of pi/2 is exact, and each fused multiply-add of the three-part Cody-Waite reduction rounds once.
constexpr float kPolyLimit = 65536.0f;

// sin(x) and cos(x) for float32 |x| < kPolyLimit: x = j pi/2 + r with |r| <= pi/4, then Cephes' minimax
// polynomials for sin and cos on [-pi/4, pi/4] (relative error about 1e-7), and the quadrant j mod 4 picks and signs.
inline void sincos_poly(float x, float& s, float& c) {
  const float j = rintf(x * 0.636619772367581343f);
  float r = fmaf(-j, 1.5703125f, x);
  r = fmaf(-j, 4.837512969970703125e-4f, r);
  r = fmaf(-j, 7.54978995489188216e-8f, r);
  const float z = r * r;
  float ps = fmaf(z, -1.9515295891e-4f, 8.3321608736e-3f);
  ps = fmaf(z, ps, -1.6666654611e-1f);
  const float sr = fmaf(r * z, ps, r);
  float pc = fmaf(z, 2.443315711809948e-5f, -1.388731625493765e-3f);
  pc = fmaf(z, pc, 4.166664568298827e-2f);
  const float cr = fmaf(z * z, pc, fmaf(-0.5f, z, 1.0f));
  const int q = static_cast<int>(j);
  const float s0 = (q & 1) ? cr : sr;
  const float c0 = (q & 1) ? sr : cr;
  s = (q & 2) ? -s0 : s0;
  c = ((q + 1) & 2) ? -c0 : c0;
}

// The largest |x| of n floats, as the integer order of their magnitude bits (vectorizes; NaN and inf come out
// above every finite value, so they fail the bound below and their chunk takes the libm path).
inline uint32_t max_magnitude_bits(const float* __restrict x, int64_t n) {
  uint32_t m = 0;
  for (int64_t k = 0; k < n; ++k) {
    uint32_t b;
    memcpy(&b, x + k, sizeof b);
    b &= 0x7fffffffu;
    m = b > m ? b : m;
  }
  return m;
}

inline float from_bits(uint32_t b) {
  float x;
  memcpy(&x, &b, sizeof x);
  return x;
}

// Whether every argument w z + p of rows x F values of z is below kPolyLimit in magnitude (float32 only).
inline bool poly_safe(const float* z, const float* w, const float* p, int64_t rows, int64_t F, int64_t tau) {
  const float zmax = from_bits(max_magnitude_bits(z, rows * F));
  const float wmax = from_bits(max_magnitude_bits(w, tau * F));
  const float pmax = from_bits(max_magnitude_bits(p, tau * F));
  return wmax * zmax + pmax < kPolyLimit;  // false when any of them is NaN or inf
}
inline bool poly_safe(const double*, const double*, const double*, int64_t, int64_t, int64_t) { return false; }

template <typename T>
void forward(const T* __restrict z, const T* __restrict a, const T* __restrict w, const T* __restrict p,
             T* __restrict out, int64_t rows, int64_t F, int64_t tau) {
  const bool poly = poly_safe(z, w, p, rows, F, tau);
  for (int64_t r = 0; r < rows; ++r) {
    const T* __restrict zr = z + r * F;
    T* __restrict o = out + r * F;
    for (int64_t f = 0; f < F; ++f) o[f] = T(0);
    for (int64_t i = 0; i < tau; ++i) {
      const T* __restrict ai = a + i * F;
      const T* __restrict wi = w + i * F;
      const T* __restrict pi = p + i * F;
      if (poly) {
        for (int64_t f = 0; f < F; ++f) {
          float sv, cv;
          sincos_poly(wi[f] * zr[f] + pi[f], sv, cv);
          o[f] += ai[f] * sv;
        }
      } else {
        for (int64_t f = 0; f < F; ++f) o[f] += ai[f] * vsin(wi[f] * zr[f] + pi[f]);
      }
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
  const bool poly = poly_safe(z, w, p, rows, F, tau);
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
        if (poly) {  // one reduction for both sin and cos
          for (int64_t f = 0; f < F; ++f) {
            float sv, cv;
            sincos_poly(wi[f] * zr[f] + pi[f], sv, cv);
            const T gc = gr[f] * cv;
            gzr[f] += awi[f] * gc;
            ci[f] += gc;
            zci[f] += gc * zr[f];
            si[f] += gr[f] * sv;
          }
          continue;
        }
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

// Rows split into `chunks` contiguous ranges of ceil(rows / chunks) rows. With OpenMP the ranges run on the
// process's OpenMP team (the threads torch itself uses: the library binds to the libgomp torch loaded, so no second
// set of threads competes with torch's spinning ones); without it, one after the other (the caller then splits).
// The backward's chunk k adds into acc + k * 3 * tau * F.
template <typename T>
void forward_chunks(const T* z, const T* a, const T* w, const T* p, T* out, int64_t rows, int64_t F, int64_t tau,
                    int64_t chunks) {
  const int64_t step = chunks > 0 ? (rows + chunks - 1) / chunks : rows;
#ifdef _OPENMP
#pragma omp parallel for num_threads(static_cast<int>(chunks)) schedule(static, 1) if (chunks > 1)
#endif
  for (int64_t k = 0; k < chunks; ++k) {
    const int64_t r0 = k * step, r1 = r0 + step < rows ? r0 + step : rows;
    if (r0 < r1) forward<T>(z + r0 * F, a, w, p, out + r0 * F, r1 - r0, F, tau);
  }
}

template <typename T>
int backward_chunks(const T* g, const T* z, const T* aw, const T* w, const T* p, T* gz, double* acc, int64_t rows,
                    int64_t F, int64_t tau, int64_t chunks) {
  const int64_t step = chunks > 0 ? (rows + chunks - 1) / chunks : rows;
  int status = 0;
#ifdef _OPENMP
#pragma omp parallel for num_threads(static_cast<int>(chunks)) schedule(static, 1) if (chunks > 1) \
    reduction(| : status)
#endif
  for (int64_t k = 0; k < chunks; ++k) {
    const int64_t r0 = k * step, r1 = r0 + step < rows ? r0 + step : rows;
    if (r0 < r1) {
      status |= backward<T>(g + r0 * F, z + r0 * F, aw, w, p, gz + r0 * F, acc + k * 3 * tau * F, r1 - r0, F, tau);
    }
  }
  return status;
}

}  // namespace

extern "C" {

int staf_abi_version() { return 2; }

int staf_openmp() {
#ifdef _OPENMP
  return 1;
#else
  return 0;
#endif
}

void staf_forward_f32(const float* z, const float* a, const float* w, const float* p, float* out, int64_t rows,
                      int64_t F, int64_t tau, int64_t chunks) {
  forward_chunks<float>(z, a, w, p, out, rows, F, tau, chunks);
}

void staf_forward_f64(const double* z, const double* a, const double* w, const double* p, double* out, int64_t rows,
                      int64_t F, int64_t tau, int64_t chunks) {
  forward_chunks<double>(z, a, w, p, out, rows, F, tau, chunks);
}

int staf_backward_f32(const float* g, const float* z, const float* aw, const float* w, const float* p, float* gz,
                      double* acc, int64_t rows, int64_t F, int64_t tau, int64_t chunks) {
  return backward_chunks<float>(g, z, aw, w, p, gz, acc, rows, F, tau, chunks);
}

int staf_backward_f64(const double* g, const double* z, const double* aw, const double* w, const double* p,
                      double* gz, double* acc, int64_t rows, int64_t F, int64_t tau, int64_t chunks) {
  return backward_chunks<double>(g, z, aw, w, p, gz, acc, rows, F, tau, chunks);
}

}  // extern "C"
